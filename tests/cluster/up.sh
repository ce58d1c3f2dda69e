#!/usr/bin/env bash
# Start a throwaway Kubernetes control plane (etcd + kube-apiserver +
# kube-controller-manager + kube-scheduler) on 127.0.0.1 for integration
# tests, and kwok as the kubelet of one fake node, kwok-node.
#   usage: up.sh DIR      (stop with: down.sh DIR)
# DIR gets certs, tokens, kubeconfig, env, *.pid, *.log, the etcd data and
# pod.log, the log of every pod that runs on kwok-node.
# Files already in DIR (certs, tokens, etcd data) are reused, so up.sh after
# down.sh restarts the same cluster on fresh ports.
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
DIR=$(cd "$1" && pwd)        # absolute: processes and kubeconfig outlive our cwd
KUBECTL=${KUBECTL:-kubectl}
TIMEOUT=${PLUMB_UP_TIMEOUT:-120}   # seconds to wait for each component
# A /24 holds 254 Services; bench/kube.sh applies 2000 and asks for a /16.
SERVICE_CIDR=${PLUMB_SERVICE_CIDR:-10.0.0.0/24}
# Pod IPs kwok hands out: kept apart from any SERVICE_CIDR in 10.0.0.0/16.
POD_CIDR=10.244.0.0/16
# In start order (down.sh stops them in reverse).
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { echo "up.sh: $*" >&2; }

# Refuse to start twice on the same DIR: the second etcd would fight the first.
for c in "${COMPONENTS[@]}"; do
  if [[ -f $DIR/$c.pid ]] && kill -0 "$(cat "$DIR/$c.pid")" 2>/dev/null; then
    log "$c already running in $DIR (run down.sh $DIR first)"; exit 1
  fi
done

BIN=$("$HERE/build.sh")

# ---------------------------------------------------------------- credentials
cd "$DIR"
. "$HERE/pki.sh"
pki_config '[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
# 10.0.0.1 is the in-cluster "kubernetes" service IP (first of SERVICE_CIDR)
subjectAltName = IP:127.0.0.1, DNS:localhost, IP:10.0.0.1, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc
[kubelet]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
# the API server dials the InternalIP of kwok-node
subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:kwok-node'
pki_ca "/CN=plumb-test-ca"
issue apiserver "/CN=kube-apiserver" server
issue admin "/O=system:masters/CN=admin" client
# The controller manager runs as its well-known user; the built-in RBAC role
# system:kube-controller-manager plus per-controller service accounts cover it.
issue controller-manager "/CN=system:kube-controller-manager" client
# Likewise the scheduler: built-in roles system:kube-scheduler and
# system:volume-scheduler are bound to this user.
issue scheduler "/CN=system:kube-scheduler" client
# kwok plays the kubelet of any node it manages and writes pods of any name:
# admin, as kwokctl runs it. Its serving cert is the kubelet's, which the API
# server checks against the CA; the API server's client cert for it is what a
# real kubelet would demand (kwok asks for none).
issue kwok "/O=system:masters/CN=kwok" client
issue kwok-serving "/CN=kwok-node" kubelet
issue apiserver-kubelet-client "/CN=kube-apiserver-kubelet-client" client
newkey sa.key                                   # signs service-account tokens
openssl pkey -in sa.key -pubout -out sa.pub 2>/dev/null
if [[ ! -f tokens.csv ]]; then
  # token,user,uid[,"groups"]; "ci" only gets system:authenticated (implicit).
  ADMIN_TOKEN=$(openssl rand -hex 24); CI_TOKEN=$(openssl rand -hex 24)
  printf '%s,admin,admin,"system:masters"\n%s,ci,ci\n' "$ADMIN_TOKEN" "$CI_TOKEN" > tokens.csv.tmp
  chmod 600 tokens.csv.tmp && mv tokens.csv.tmp tokens.csv
fi
ADMIN_TOKEN=$(awk -F, '$2=="admin"{print $1}' tokens.csv)
CI_TOKEN=$(awk -F, '$2=="ci"{print $1}' tokens.csv)
printf '%s\n' "$ADMIN_TOKEN" > admin.token
printf '%s\n' "$CI_TOKEN" > ci.token

# ---------------------------------------------------------------- ports
# Random ports below the ephemeral range (so outgoing connections don't take
# them); a refused connection means nobody listens there now.
USED=" "
pick_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ $USED == *" $p "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then USED+="$p "; echo "$p"; return; fi
  done
}
ETCD_PORT=$(pick_port); ETCD_PEER_PORT=$(pick_port)
API_PORT=$(pick_port); KCM_PORT=$(pick_port)
SCHED_PORT=$(pick_port); KWOK_PORT=$(pick_port)
SERVER=https://127.0.0.1:$API_PORT

# ---------------------------------------------------------------- kubeconfigs
b64() { base64 -w0 < "$1"; }
cat > kubeconfig.tmp <<KC
apiVersion: v1
kind: Config
clusters:
- name: plumb-test
  cluster:
    server: $SERVER
    certificate-authority-data: $(b64 ca.crt)
users:
- name: admin
  user:
    token: $ADMIN_TOKEN
- name: admin-cert
  user:
    client-certificate-data: $(b64 admin.crt)
    client-key-data: $(b64 admin.key)
- name: ci
  user:
    token: $CI_TOKEN
contexts:
- name: admin
  context: {cluster: plumb-test, user: admin}
- name: admin-cert
  context: {cluster: plumb-test, user: admin-cert}
- name: ci
  context: {cluster: plumb-test, user: ci}
current-context: admin
KC
# component_kubeconfig NAME: NAME.kubeconfig, as the user of NAME.crt/key
component_kubeconfig() {
  cat > "$1.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: plumb-test
  cluster: {server: $SERVER, certificate-authority: $DIR/ca.crt}
users:
- name: $1
  user: {client-certificate: $DIR/$1.crt, client-key: $DIR/$1.key}
contexts:
- name: $1
  context: {cluster: plumb-test, user: $1}
current-context: $1
KC
}
for c in controller-manager scheduler kwok; do component_kubeconfig "$c"; done
chmod 600 kubeconfig.tmp && mv kubeconfig.tmp kubeconfig

# ---------------------------------------------------------------- start
# On any failure from here on: show why, and stop what we started.
fail() {
  log "ERROR: $*"
  for f in "${COMPONENTS[@]}"; do
    [[ -f $DIR/$f.log ]] && { echo "----- tail of $DIR/$f.log" >&2; tail -n 25 "$DIR/$f.log" >&2; }
  done
  "$HERE/down.sh" "$DIR" >&2 || true
  exit 1
}
trap 'fail "unexpected error at line $LINENO"' ERR

start() { # NAME ARGS...: background, detached from our stdio, pid in NAME.pid
  local name=$1; shift
  "$BIN/$name" "$@" </dev/null >"$DIR/$name.log" 2>&1 &
  echo $! > "$DIR/$name.pid"
}
# wait_for NAME CMD...: poll CMD until it succeeds, while NAME is still alive.
wait_for() {
  local name=$1 deadline=$((SECONDS + TIMEOUT)); shift
  until "$@" >/dev/null 2>&1; do
    kill -0 "$(cat "$DIR/$name.pid")" 2>/dev/null || fail "$name exited early"
    ((SECONDS < deadline)) || fail "$name not ready after ${TIMEOUT}s"
    sleep 0.5
  done
}
CURL=(curl -sf --max-time 5 --cacert "$DIR/ca.crt")
kube() { KUBECONFIG=$DIR/kubeconfig "$KUBECTL" --context admin "$@"; }

# etcd: fsync off, tests don't need durability and it is much faster.
start etcd --name plumb-test --data-dir "$DIR/etcd-data" --log-level warn \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "plumb-test=http://127.0.0.1:$ETCD_PEER_PORT" --unsafe-no-fsync
wait_for etcd curl -sf --max-time 5 "http://127.0.0.1:$ETCD_PORT/health"
log "etcd up on 127.0.0.1:$ETCD_PORT"

# --endpoint-reconciler-type none: the "kubernetes" Service may not point at
# 127.0.0.1 (loopback is rejected in Endpoints), and nothing in-cluster needs it.
# Logs, exec and the like go to a node's kubelet (kwok) at its InternalIP: the
# node's Hostname address, kwok-node, resolves nowhere.
start kube-apiserver --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
  --cert-dir "$DIR/apiserver-certs" \
  --tls-cert-file "$DIR/apiserver.crt" --tls-private-key-file "$DIR/apiserver.key" \
  --client-ca-file "$DIR/ca.crt" --token-auth-file "$DIR/tokens.csv" \
  --authorization-mode Node,RBAC --allow-privileged=true \
  --endpoint-reconciler-type none \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --kubelet-preferred-address-types InternalIP --kubelet-certificate-authority "$DIR/ca.crt" \
  --kubelet-client-certificate "$DIR/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$DIR/apiserver-kubelet-client.key" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$DIR/sa.pub" --service-account-signing-key-file "$DIR/sa.key"
wait_for kube-apiserver "${CURL[@]}" -H "Authorization: Bearer $ADMIN_TOKEN" "$SERVER/readyz"
log "kube-apiserver ready at $SERVER"

# Default controller set; leader election off (single instance, no lease lag).
# No --authentication/authorization-kubeconfig: its own HTTPS port only serves
# /healthz (always allowed), and delegated auth would want a requestheader CA.
# The HPA controller looks at each HorizontalPodAutoscaler every 5 s rather
# than 15: tests/kube/ignore.sh gets three times the scale changes in its
# five minutes.
start kube-controller-manager --kubeconfig "$DIR/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$KCM_PORT" --cert-dir "$DIR/kcm-certs" \
  --leader-elect=false --controllers '*' --use-service-account-credentials=true \
  --service-account-private-key-file "$DIR/sa.key" --root-ca-file "$DIR/ca.crt" \
  --cluster-signing-cert-file "$DIR/ca.crt" --cluster-signing-key-file "$DIR/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --horizontal-pod-autoscaler-sync-period 5s
wait_for kube-controller-manager curl -skf --max-time 5 "https://127.0.0.1:$KCM_PORT/healthz"
log "kube-controller-manager healthy on 127.0.0.1:$KCM_PORT"

# Its kubeconfig and no leader election, through the config file (the flags
# for them are deprecated); /healthz as for the controller manager.
cat > scheduler.yaml <<YAML
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: $DIR/scheduler.kubeconfig}
leaderElection: {leaderElect: false}
YAML
start kube-scheduler --config "$DIR/scheduler.yaml" \
  --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --cert-dir "$DIR/scheduler-certs"
wait_for kube-scheduler curl -skf --max-time 5 "https://127.0.0.1:$SCHED_PORT/healthz"
log "kube-scheduler healthy on 127.0.0.1:$SCHED_PORT"

# ---------------------------------------------------------------- kwok-node
# One fake node for kwok to play the kubelet of. Its taint keeps every Pod off
# it but those that tolerate kwok.x-k8s.io/node=fake: the tests rely on a
# Deployment's Pods staying Pending (README.md says why).
kube apply -f - >&2 <<'YAML'
apiVersion: v1
kind: Node
metadata:
  name: kwok-node
  annotations: {kwok.x-k8s.io/node: fake}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node, kubernetes.io/os: linux}
spec:
  taints:
  - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}
YAML
# A restarted cluster's node still says Ready, with the last kwok's port, and
# its Lease names the last kwok, which the new one would wait out (40 s): drop
# both, so that kwok's node-initialize stage runs again at once.
kube patch node kwok-node --subresource status --type merge -p '{"status":{"conditions":null}}' >/dev/null
kube -n kube-node-lease delete lease kwok-node --ignore-not-found >/dev/null
# What `kubectl logs` shows of every container on kwok-node: one file, in the
# CRI log format kwok reads; tests append lines to it.
[[ -f pod.log ]] || printf '%s stdout F plumb test pod started\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" > pod.log
{
  cat "$BIN/kwok-stages.yaml"
  cat <<YAML
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: every-pod}
spec:
  selector: {}
  logs:
  - {logsFile: $DIR/pod.log, follow: true}
YAML
} > kwok.yaml
# KWOK_WORKDIR: no kwok.yaml from the user's ~/.kwok joins ours. --node-name
# gives the node a Hostname address too (without one, node-initialize clears
# the addresses of a restarted node). The node's Lease, renewed every 10 s,
# keeps it Ready for the controller manager, as kwokctl runs kwok (the
# heartbeat stage refreshes its status only every 10 min).
KWOK_WORKDIR=$DIR start kwok --config "$DIR/kwok.yaml" --kubeconfig "$DIR/kwok.kubeconfig" \
  --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake --node-lease-duration-seconds 40 \
  --server-address "127.0.0.1:$KWOK_PORT" --node-ip 127.0.0.1 --node-port "$KWOK_PORT" --node-name kwok-node \
  --tls-cert-file "$DIR/kwok-serving.crt" --tls-private-key-file "$DIR/kwok-serving.key" \
  --cidr "$POD_CIDR"
wait_for kwok "${CURL[@]}" "https://127.0.0.1:$KWOK_PORT/healthz"
# Ready, and the controller manager has lifted its not-ready taint: a Pod
# that tolerates ours is scheduled at once.
node_ready() {
  [[ $(kube get node kwok-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}') \
     == "True kwok.x-k8s.io/node" ]]
}
wait_for kwok node_ready
log "kwok on 127.0.0.1:$KWOK_PORT, kwok-node Ready"

# RBAC for the restricted user: read-only on Deployments in "shop", nothing
# else, so tests can check that Plumb reports a forbidden patch properly.
kube apply -f - >&2 <<'YAML'
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ci-read-deployments, namespace: shop}
rules:
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-read-deployments, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ci-read-deployments}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: ci}
YAML

# ---------------------------------------------------------------- env
# KEY=VALUE lines (no "export": also easy to read from C or make);
# use with: set -a; . DIR/env; set +a
{
  q() { printf '%s=%q\n' "$1" "$2"; }
  q KUBECONFIG "$DIR/kubeconfig"
  q PLUMB_TEST_SERVER "$SERVER"
  q PLUMB_TEST_DIR "$DIR"
  q PLUMB_TEST_BIN "$BIN"
  q PLUMB_TEST_CA "$DIR/ca.crt"
  q PLUMB_TEST_ADMIN_CERT "$DIR/admin.crt"
  q PLUMB_TEST_ADMIN_KEY "$DIR/admin.key"
  q PLUMB_TEST_ADMIN_TOKEN_FILE "$DIR/admin.token"
  q PLUMB_TEST_CI_TOKEN_FILE "$DIR/ci.token"
  q PLUMB_TEST_TOKEN_AUTH_FILE "$DIR/tokens.csv"
  q PLUMB_TEST_API_PORT "$API_PORT"
  q PLUMB_TEST_ETCD_PORT "$ETCD_PORT"
  q PLUMB_TEST_ETCD_PEER_PORT "$ETCD_PEER_PORT"
  q PLUMB_TEST_KCM_PORT "$KCM_PORT"
  q PLUMB_TEST_SCHED_PORT "$SCHED_PORT"
  q PLUMB_TEST_KWOK_PORT "$KWOK_PORT"
  q PLUMB_TEST_POD_LOG "$DIR/pod.log"
  q PLUMB_TEST_ETCD_PID "$(cat etcd.pid)"
  q PLUMB_TEST_APISERVER_PID "$(cat kube-apiserver.pid)"
  q PLUMB_TEST_KCM_PID "$(cat kube-controller-manager.pid)"
  q PLUMB_TEST_SCHED_PID "$(cat kube-scheduler.pid)"
  q PLUMB_TEST_KWOK_PID "$(cat kwok.pid)"
} > "$DIR/env"
trap - ERR
log "ready: $SERVER  (env: $DIR/env)"
