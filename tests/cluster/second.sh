# second.sh: sourced; second_apiserver DIR PREFIX starts a second
# kube-apiserver beside the one of up.sh, on the same etcd under its own
# key PREFIX, so a cluster of its own (no controllers run for it), with
# the same CA, certificates and tokens. It sets SECOND (its URL) and
# second_pid, logs to DIR.log and waits until it is ready (false after a
# minute). Needs the variables of up.sh's env file.

# free_port: a port nobody listens on (curl: 7, could not connect).
free_port() {
  while :; do
    p=$(shuf -i 20000-32000 -n 1)
    rc=0
    curl -s --max-time 2 "http://127.0.0.1:$p" >/dev/null 2>&1 || rc=$?
    [ $rc -ne 7 ] || { echo "$p"; return; }
  done
}
second_apiserver() {
  SECOND=https://127.0.0.1:$(free_port)
  "$PLUMB_TEST_BIN/kube-apiserver" --etcd-servers "http://127.0.0.1:$PLUMB_TEST_ETCD_PORT" \
    --etcd-prefix "$2" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
    --secure-port "${SECOND##*:}" --cert-dir "$1-certs" \
    --tls-cert-file "$PLUMB_TEST_DIR/apiserver.crt" --tls-private-key-file "$PLUMB_TEST_DIR/apiserver.key" \
    --client-ca-file "$PLUMB_TEST_DIR/ca.crt" --token-auth-file "$PLUMB_TEST_TOKEN_AUTH_FILE" \
    --authorization-mode RBAC --endpoint-reconciler-type none --service-cluster-ip-range 10.0.0.0/24 \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$PLUMB_TEST_DIR/sa.pub" --service-account-signing-key-file "$PLUMB_TEST_DIR/sa.key" \
    </dev/null >"$1.log" 2>&1 &
  second_pid=$!
  second_token=$(cat "$PLUMB_TEST_ADMIN_TOKEN_FILE")
  n=0
  until curl -sf --max-time 5 --cacert "$PLUMB_TEST_CA" -H "Authorization: Bearer $second_token" "$SECOND/readyz" >/dev/null; do
    n=$((n + 1))
    [ $n -lt 120 ] || return 1
    sleep 0.5
  done
}
# second_kubeconfig: a kubeconfig of two contexts with the admin token of
# up.sh, admin (its API server) and second (second_apiserver's), admin the
# current one.
second_kubeconfig() {
  ca=$(base64 -w0 "$PLUMB_TEST_CA")
  cat <<KC
apiVersion: v1
kind: Config
clusters:
- {name: first, cluster: {server: "$PLUMB_TEST_SERVER", certificate-authority-data: $ca}}
- {name: second, cluster: {server: "$SECOND", certificate-authority-data: $ca}}
users:
- {name: admin, user: {token: $second_token}}
contexts:
- {name: admin, context: {cluster: first, user: admin}}
- {name: second, context: {cluster: second, user: admin}}
current-context: admin
KC
}
