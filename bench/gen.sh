#!/bin/sh
# gen.sh N DIR: writes an environment of N apps twice, once as Plumb and
# once as Kustomize, with the same resources in each:
#
#   DIR/apps/app.plumb              one Plumb template: a ConfigMap made by a
#                                   generator, a Deployment (two containers,
#                                   app + sidecar) reading it, and a Service
#   DIR/envs/dev/main.plumb         N instances, a namespace and a label
#   DIR/envs/staging/main.plumb     N instances given their image tag,
#                                   replicas and log level as template
#                                   parameters, a namespace and labels, and
#                                   a plain ConfigMap: the shape without
#                                   overlays or generators
#   DIR/envs/prod/main.plumb        N instances and the prod overlay: a
#                                   namespace, a name prefix, labels into
#                                   selectors, image overrides, replicas
#                                   per app, a strategic-merge patch of the
#                                   app container and prod settings merged
#                                   into every app's ConfigMap
#   DIR/envs/prod/app.env           those settings
#   DIR/kustomize/base/             the N apps as plain YAML, one file each,
#                                   and a configMapGenerator entry per app
#   DIR/kustomize/overlays/prod/    kustomization.yaml doing what prod does
#
# App i is named app-NNNNN; in prod it runs 2 + i % 3 replicas. POSIX sh and
# awk only, so it runs anywhere the benchmark does.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 N DIR" >&2; exit 2; }
N=$1 DIR=$2
case $N in '' | *[!0-9]*) echo "gen.sh: N must be a number" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] || { echo "gen.sh: N must be at least 1" >&2; exit 2; }

# Values shared by both trees.
# App i runs the image REGISTRY/app-NNNNN: prod has an `images` entry for
# each, as a fleet of services built separately would.
APP_IMAGE=registry.example.com/bench PROXY_IMAGE=registry.example.com/bench/proxy
MIRROR=mirror.example.com/bench/proxy TAG_PROD=2.0.0 PREFIX=prod-
mkdir -p "$DIR/apps" "$DIR/envs/dev" "$DIR/envs/staging" "$DIR/envs/prod" \
  "$DIR/kustomize/base/apps" "$DIR/kustomize/overlays/prod"

# The settings prod merges into every app's ConfigMap, read by both tools.
cat > "$DIR/envs/prod/app.env" <<'EOF'
# prod settings, merged into every app's ConfigMap
LOG_LEVEL=warn
REGION=eu-west-1
EOF
cp "$DIR/envs/prod/app.env" "$DIR/kustomize/overlays/prod/app.env"

# ---- Plumb ------------------------------------------------------------------

cat > "$DIR/apps/app.plumb" <<EOF
// One benchmark app: the ConfigMap it reads, a Deployment running the app
// and a proxy sidecar, and the Service in front of it.
// generated: false gives the ConfigMap as a plain resource, without the
// generator's content hash in its name.
template bench_app(name: string, tag: string = "1.0.0", replicas: int = 1, log_level: string = "info",
                   generated: bool = true) {
  let labels = { app: name, "app.kubernetes.io/part-of": "bench" }
  let config = "\${name}-config"
  let data = { APP_NAME: name, LOG_LEVEL: log_level, CACHE_SIZE: "64Mi" }

  if generated then config_map(config, { literals: data, labels: labels })
  else ConfigMap config { metadata: { labels: labels }, data: data }

  Deployment name {
    metadata: { labels: labels }
    spec: {
      replicas: replicas
      selector: { matchLabels: labels }
      template: {
        metadata: { labels: labels }
        spec: {
          containers: [
            {
              name: "app"
              image: "$APP_IMAGE/\${name}:\${tag}"
              ports: [{ name: "http", containerPort: 8080 }]
              env: [
                { name: "PORT", value: "8080" },
                { name: "GOMAXPROCS", value: "1" },
              ]
              envFrom: [{ configMapRef: { name: config } }]
              resources: {
                requests: { cpu: "100m", memory: "128Mi" }
                limits: { cpu: "500m", memory: "256Mi" }
              }
              volumeMounts: [{ name: "config", mountPath: "/etc/app" }]
            },
            {
              name: "proxy"
              image: "$PROXY_IMAGE:3.2.1"
              ports: [{ name: "admin", containerPort: 9901 }]
              env: [{ name: "UPSTREAM", value: "127.0.0.1:8080" }]
              resources: {
                requests: { cpu: "50m", memory: "64Mi" }
                limits: { memory: "64Mi" }
              }
            },
          ]
          volumes: [{ name: "config", configMap: { name: config } }]
        }
      }
    }
  }

  Service name {
    metadata: { labels: labels }
    spec: {
      selector: labels
      ports: [{ name: "http", port: 80, targetPort: "http" }]
    }
  }
}
EOF

# The two envs: one `app` line per app.
awk -v n="$N" 'BEGIN {
  print "import \"../../apps/app.plumb\"\n"
  print "env dev {"
  print "  namespace: \"bench-dev\""
  print "  labels: { env: \"dev\" }\n"
  for (i = 1; i <= n; i++) printf "  app a%05d = bench_app(name: \"app-%05d\")\n", i, i
  print "}"
}' > "$DIR/envs/dev/main.plumb"

awk -v n="$N" -v tag="$TAG_PROD" 'BEGIN {
  print "import \"../../apps/app.plumb\"\n"
  print "env staging {"
  print "  namespace: \"bench-staging\""
  print "  labels: { env: \"staging\", \"example.com/tier\": \"silver\" }\n"
  for (i = 1; i <= n; i++)
    printf "  app a%05d = bench_app(name: \"app-%05d\", tag: \"%s\", replicas: %d, log_level: \"warn\", generated: false)\n", i, i, tag, 2 + i % 3
  print "}"
}' > "$DIR/envs/staging/main.plumb"

awk -v n="$N" -v tag="$TAG_PROD" -v prefix="$PREFIX" -v app="$APP_IMAGE" \
    -v proxy="$PROXY_IMAGE" -v mirror="$MIRROR" 'BEGIN {
  print "import \"../../apps/app.plumb\"\n"
  print "env prod {"
  print "  namespace: \"bench-prod\""
  printf "  name_prefix: \"%s\"\n", prefix
  print "  common_labels: { env: \"prod\", \"example.com/tier\": \"gold\" }"
  print "  images: {"
  for (i = 1; i <= n; i++) printf "    \"%s/app-%05d\": { tag: \"%s\" }\n", app, i, tag
  printf "    \"%s\": { name: \"%s\" }\n  }\n", proxy, mirror
  print "  replicas: {"
  for (i = 1; i <= n; i++) printf "    \"app-%05d\": %d\n", i, 2 + i % 3
  print "  }\n"
  for (i = 1; i <= n; i++) printf "  app a%05d = bench_app(name: \"app-%05d\")\n", i, i
  print ""
  print "  // The app container of every app: more memory, and a Go runtime to match."
  print "  patch Deployment where(labels: \"app.kubernetes.io/part-of=bench\") {"
  print "    spec: { template: { spec: { containers: [{"
  print "      name: \"app\""
  print "      env: [{ name: \"GOMAXPROCS\", value: \"2\" }, { name: \"GOMEMLIMIT\", value: \"900MiB\" }]"
  print "      resources: { limits: { cpu: \"1\", memory: \"1Gi\" } }"
  print "    }] } } }"
  print "  }\n"
  print "  // Prod settings merged into every app'"'"'s generated ConfigMap (Kustomize:"
  print "  // a configMapGenerator entry per app with behavior: merge)."
  print "  let settings = config_map(\"prod-settings\", { envs: [\"app.env\"] }).data"
  print "  patch ConfigMap where(labels: \"app.kubernetes.io/part-of=bench\") { data: settings }"
  print "}"
}' > "$DIR/envs/prod/main.plumb"

# ---- Kustomize --------------------------------------------------------------

# The base: what the Plumb template gives, app by app.
awk -v n="$N" -v dir="$DIR/kustomize/base/apps" -v app="$APP_IMAGE" -v proxy="$PROXY_IMAGE" 'BEGIN {
  for (i = 1; i <= n; i++) {
    name = sprintf("app-%05d", i)
    f = dir "/" name ".yaml"
    labels = "    app: " name "\n    app.kubernetes.io/part-of: bench\n"
    printf "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  labels:\n%s", name, labels > f
    printf "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: %s\n      app.kubernetes.io/part-of: bench\n", name > f
    printf "  template:\n    metadata:\n      labels:\n        app: %s\n        app.kubernetes.io/part-of: bench\n", name > f
    printf "    spec:\n      containers:\n" > f
    printf "      - name: app\n        image: %s/%s:1.0.0\n", app, name > f
    printf "        ports:\n        - name: http\n          containerPort: 8080\n" > f
    printf "        env:\n        - name: PORT\n          value: \"8080\"\n        - name: GOMAXPROCS\n          value: \"1\"\n" > f
    printf "        envFrom:\n        - configMapRef:\n            name: %s-config\n", name > f
    printf "        resources:\n          requests:\n            cpu: 100m\n            memory: 128Mi\n" > f
    printf "          limits:\n            cpu: 500m\n            memory: 256Mi\n" > f
    printf "        volumeMounts:\n        - name: config\n          mountPath: /etc/app\n" > f
    printf "      - name: proxy\n        image: %s:3.2.1\n", proxy > f
    printf "        ports:\n        - name: admin\n          containerPort: 9901\n" > f
    printf "        env:\n        - name: UPSTREAM\n          value: 127.0.0.1:8080\n" > f
    printf "        resources:\n          requests:\n            cpu: 50m\n            memory: 64Mi\n" > f
    printf "          limits:\n            memory: 64Mi\n" > f
    printf "      volumes:\n      - name: config\n        configMap:\n          name: %s-config\n---\n", name > f
    printf "apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  labels:\n%s", name, labels > f
    printf "spec:\n  selector:\n    app: %s\n    app.kubernetes.io/part-of: bench\n", name > f
    printf "  ports:\n  - name: http\n    port: 80\n    targetPort: http\n" > f
    close(f)
  }
}'
awk -v n="$N" 'BEGIN {
  print "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:"
  for (i = 1; i <= n; i++) printf "- apps/app-%05d.yaml\n", i
  print "configMapGenerator:"
  for (i = 1; i <= n; i++) {
    printf "- name: app-%05d-config\n  literals:\n  - APP_NAME=app-%05d\n  - LOG_LEVEL=info\n  - CACHE_SIZE=64Mi\n", i, i
    printf "  options:\n    labels:\n      app: app-%05d\n      app.kubernetes.io/part-of: bench\n", i
  }
}' > "$DIR/kustomize/base/kustomization.yaml"

# The prod overlay. `labels` with includeSelectors is Kustomize's current
# spelling of commonLabels: metadata, pod templates and selectors.
awk -v n="$N" -v tag="$TAG_PROD" -v prefix="$PREFIX" -v app="$APP_IMAGE" \
    -v proxy="$PROXY_IMAGE" -v mirror="$MIRROR" 'BEGIN {
  print "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization"
  print "resources:\n- ../../base"
  print "namespace: bench-prod"
  print "namePrefix: " prefix
  print "labels:\n- pairs:\n    env: prod\n    example.com/tier: gold\n  includeSelectors: true"
  print "images:"
  for (i = 1; i <= n; i++) printf "- name: %s/app-%05d\n  newTag: \"%s\"\n", app, i, tag
  print "- name: " proxy "\n  newName: " mirror
  print "patches:\n- path: app-container.yaml\n  target:\n    kind: Deployment\n    labelSelector: app.kubernetes.io/part-of=bench"
  print "replicas:"
  for (i = 1; i <= n; i++) printf "- name: app-%05d\n  count: %d\n", i, 2 + i % 3
  print "configMapGenerator:"
  for (i = 1; i <= n; i++) printf "- name: app-%05d-config\n  behavior: merge\n  envs:\n  - app.env\n", i
}' > "$DIR/kustomize/overlays/prod/kustomization.yaml"

cat > "$DIR/kustomize/overlays/prod/app-container.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: any # the target selects the Deployments
spec:
  template:
    spec:
      containers:
      - name: app
        env:
        - name: GOMAXPROCS
          value: "2"
        - name: GOMEMLIMIT
          value: 900MiB
        resources:
          limits:
            cpu: "1"
            memory: 1Gi
EOF
