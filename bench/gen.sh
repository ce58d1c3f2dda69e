#!/bin/sh
# gen.sh N DIR: writes an environment of N apps three ways, with the same
# resources in each:
#
#   DIR/apps/app.plumb              one Plumb template: a Deployment (two
#                                   containers, app + sidecar), a Service and
#                                   a ConfigMap
#   DIR/envs/dev/main.plumb         N instances, defaults
#   DIR/envs/prod/main.plumb        N instances; prod sets replicas, the image
#                                   tag and LOG_LEVEL through the template's
#                                   parameters, adds labels and a namespace
#   DIR/kustomize/base/             the N apps as plain YAML, one file each
#   DIR/kustomize/overlays/prod/    kustomization.yaml doing what prod does:
#                                   namespace, labels, images, replicas and a
#                                   strategic-merge patch for LOG_LEVEL
#   DIR/jsonnet/prod.jsonnet        the prod env in Jsonnet
#
# App i is named app-NNNNN; in prod it runs 2 + i % 3 replicas. POSIX sh and
# awk only, so it runs anywhere the benchmark does.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 N DIR" >&2; exit 2; }
N=$1 DIR=$2
case $N in '' | *[!0-9]*) echo "gen.sh: N must be a number" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] || { echo "gen.sh: N must be at least 1" >&2; exit 2; }

# Values shared by every generator below.
TAG_DEV=1.0.0 TAG_PROD=2.0.0
mkdir -p "$DIR/apps" "$DIR/envs/dev" "$DIR/envs/prod" \
  "$DIR/kustomize/base/apps" "$DIR/kustomize/overlays/prod" "$DIR/jsonnet"

# ---- Plumb ------------------------------------------------------------------

cat > "$DIR/apps/app.plumb" <<EOF
// One benchmark app: a Deployment running the app and a proxy sidecar, the
// Service in front of it and the ConfigMap it reads.
template bench_app(name: string, tag: string = "$TAG_DEV", replicas: int = 1, log_level: string = "info") {
  let labels = { app: name, "app.kubernetes.io/part-of": "bench" }

  ConfigMap "\${name}-config" {
    metadata: { labels: labels }
    data: {
      "app.properties": """
        name=\${name}
        port=8080
        """
    }
  }

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
              image: "registry.example.com/bench/app:\${tag}"
              ports: [{ name: "http", containerPort: 8080 }]
              env: [
                { name: "APP_NAME", value: name },
                { name: "LOG_LEVEL", value: log_level },
                { name: "PORT", value: "8080" },
              ]
              resources: {
                requests: { cpu: "100m", memory: "128Mi" }
                limits: { cpu: "500m", memory: "256Mi" }
              }
              volumeMounts: [{ name: "config", mountPath: "/etc/app" }]
            },
            {
              name: "proxy"
              image: "registry.example.com/bench/proxy:3.2.1"
              ports: [{ name: "admin", containerPort: 9901 }]
              env: [{ name: "UPSTREAM", value: "127.0.0.1:8080" }]
              resources: {
                requests: { cpu: "50m", memory: "64Mi" }
                limits: { memory: "64Mi" }
              }
            },
          ]
          volumes: [{ name: "config", configMap: { name: "\${name}-config" } }]
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
  print "env prod {"
  print "  namespace: \"bench-prod\""
  print "  labels: { env: \"prod\", \"example.com/tier\": \"gold\" }\n"
  printf "  let tag = \"%s\"\n\n", tag
  for (i = 1; i <= n; i++)
    printf "  app a%05d = bench_app(name: \"app-%05d\", tag: tag, replicas: %d, log_level: \"warn\")\n", i, i, 2 + i % 3
  print "}"
}' > "$DIR/envs/prod/main.plumb"

# ---- Kustomize --------------------------------------------------------------

# The base: what the Plumb template gives with its defaults, app by app.
awk -v n="$N" -v dir="$DIR/kustomize/base/apps" -v tag="$TAG_DEV" 'BEGIN {
  for (i = 1; i <= n; i++) {
    name = sprintf("app-%05d", i)
    f = dir "/" name ".yaml"
    labels = "    app: " name "\n    app.kubernetes.io/part-of: bench\n"
    printf "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\n  labels:\n%s", name, labels > f
    printf "data:\n  app.properties: |\n    name=%s\n    port=8080\n---\n", name > f
    printf "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  labels:\n%s", name, labels > f
    printf "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: %s\n      app.kubernetes.io/part-of: bench\n", name > f
    printf "  template:\n    metadata:\n      labels:\n        app: %s\n        app.kubernetes.io/part-of: bench\n", name > f
    printf "    spec:\n      containers:\n" > f
    printf "      - name: app\n        image: registry.example.com/bench/app:%s\n", tag > f
    printf "        ports:\n        - name: http\n          containerPort: 8080\n" > f
    printf "        env:\n        - name: APP_NAME\n          value: %s\n", name > f
    printf "        - name: LOG_LEVEL\n          value: info\n        - name: PORT\n          value: \"8080\"\n" > f
    printf "        resources:\n          requests:\n            cpu: 100m\n            memory: 128Mi\n" > f
    printf "          limits:\n            cpu: 500m\n            memory: 256Mi\n" > f
    printf "        volumeMounts:\n        - name: config\n          mountPath: /etc/app\n" > f
    printf "      - name: proxy\n        image: registry.example.com/bench/proxy:3.2.1\n" > f
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
}' > "$DIR/kustomize/base/kustomization.yaml"

# The prod overlay. `labels` without includeSelectors/includeTemplates labels
# metadata only, as Plumb's env labels do (commonLabels would also rewrite
# selectors and pod templates).
awk -v n="$N" -v tag="$TAG_PROD" 'BEGIN {
  print "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization"
  print "resources:\n- ../../base"
  print "namespace: bench-prod"
  print "labels:\n- pairs:\n    env: prod\n    example.com/tier: gold"
  print "images:\n- name: registry.example.com/bench/app\n  newTag: \"" tag "\""
  print "patches:\n- path: log-level.yaml\n  target:\n    kind: Deployment"
  print "replicas:"
  for (i = 1; i <= n; i++) printf "- name: app-%05d\n  count: %d\n", i, 2 + i % 3
}' > "$DIR/kustomize/overlays/prod/kustomization.yaml"

# LOG_LEVEL is the app container's second env entry. A JSON patch replaces
# its value in place (a strategic-merge patch would merge by name but move
# the entry to the front of the list); the target applies it to every
# Deployment, and the test op fails the build if the layout ever changes.
cat > "$DIR/kustomize/overlays/prod/log-level.yaml" <<'EOF'
- op: test
  path: /spec/template/spec/containers/0/env/1/name
  value: LOG_LEVEL
- op: replace
  path: /spec/template/spec/containers/0/env/1/value
  value: warn
EOF

# ---- Jsonnet ----------------------------------------------------------------

cat > "$DIR/jsonnet/app.libsonnet" <<EOF
{
  app(name, tag='$TAG_DEV', replicas=1, log_level='info', namespace, labels):: {
    local app_labels = { app: name, 'app.kubernetes.io/part-of': 'bench' },
    local meta(n) = { name: n, namespace: namespace, labels: app_labels + labels },
    resources: [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: meta(name + '-config'),
        data: { 'app.properties': 'name=%s\nport=8080\n' % name },
      },
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: meta(name),
        spec: {
          replicas: replicas,
          selector: { matchLabels: app_labels },
          template: {
            metadata: { labels: app_labels },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'registry.example.com/bench/app:' + tag,
                  ports: [{ name: 'http', containerPort: 8080 }],
                  env: [
                    { name: 'APP_NAME', value: name },
                    { name: 'LOG_LEVEL', value: log_level },
                    { name: 'PORT', value: '8080' },
                  ],
                  resources: {
                    requests: { cpu: '100m', memory: '128Mi' },
                    limits: { cpu: '500m', memory: '256Mi' },
                  },
                  volumeMounts: [{ name: 'config', mountPath: '/etc/app' }],
                },
                {
                  name: 'proxy',
                  image: 'registry.example.com/bench/proxy:3.2.1',
                  ports: [{ name: 'admin', containerPort: 9901 }],
                  env: [{ name: 'UPSTREAM', value: '127.0.0.1:8080' }],
                  resources: {
                    requests: { cpu: '50m', memory: '64Mi' },
                    limits: { memory: '64Mi' },
                  },
                },
              ],
              volumes: [{ name: 'config', configMap: { name: name + '-config' } }],
            },
          },
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: meta(name),
        spec: {
          selector: app_labels,
          ports: [{ name: 'http', port: 80, targetPort: 'http' }],
        },
      },
    ],
  },
}
EOF
cat > "$DIR/jsonnet/prod.jsonnet" <<EOF
// The prod env: \`jsonnet -y prod.jsonnet\` prints it as a YAML stream.
local lib = import 'app.libsonnet';
local n = $N;
std.flattenArrays([
  lib.app(
    name='app-%05d' % i,
    tag='$TAG_PROD',
    replicas=2 + i % 3,
    log_level='warn',
    namespace='bench-prod',
    labels={ env: 'prod', 'example.com/tier': 'gold' },
  ).resources
  for i in std.range(1, n)
])
EOF
