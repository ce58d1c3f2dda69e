# pki.sh: a test CA and the certificates it signs, for the test servers
# (tests/cluster/up.sh, tests/helm/servers/up.sh). Sourced by bash in the
# directory that keeps them; nothing is made twice, so a second up.sh
# keeps what clients already trust. EC P-256 keys: generated instantly,
# accepted by Go, curl and OpenSSL clients.

# pki_config SECTIONS: openssl.cnf, with the CA's and a client's sections
# and SECTIONS (the servers', each with its subjectAltName).
pki_config() {
  cat > openssl.cnf <<CNF
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
$1
CNF
}

newkey() { [[ -f $1 ]] || openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# pki_ca SUBJECT: ca.key and ca.crt
pki_ca() {
  [[ -f ca.crt ]] && return 0
  newkey ca.key
  openssl req -x509 -new -key ca.key -subj "$1" -days 3650 -config openssl.cnf -extensions ca -out ca.crt
}

# issue NAME SUBJECT SECTION: NAME.key and NAME.crt, signed by the CA
issue() {
  [[ -f $1.crt ]] && return 0
  newkey "$1.key"
  openssl req -new -key "$1.key" -subj "$2" -config openssl.cnf |
    openssl x509 -req -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
      -days 3650 -extfile openssl.cnf -extensions "$3" -out "$1.crt" 2>/dev/null
}
