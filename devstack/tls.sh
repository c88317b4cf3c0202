# Local TLS for the stack: a CA of its own and one server certificate for 127.0.0.1 and
# localhost, made with openssl on first start and kept in $STATE/tls. PostgreSQL serves it
# (ssl=on) and so does Kafka's SASL_SSL listener; clients verify it with $TLS_CA
# (VINOPS_DEVSTACK_CA_FILE in .devstack/env). Sourced by stack.sh.

TLS_DIR="$STATE/tls"
TLS_CA="$TLS_DIR/ca.pem"
TLS_CERT="$TLS_DIR/server.pem"
TLS_KEY="$TLS_DIR/server.key"
# Kafka's PEM keystore: the private key (PKCS#8) followed by the certificate chain.
TLS_KAFKA_KEYSTORE="$TLS_DIR/kafka-keystore.pem"

tls_up() {
    [[ -s "$TLS_CA" && -s "$TLS_CERT" && -s "$TLS_KEY" && -s "$TLS_KAFKA_KEYSTORE" ]] && return 0
    command -v openssl >/dev/null || die "openssl not found: install it (apt-get install -y openssl)"
    log "tls: creating a local CA and a server certificate for 127.0.0.1 in $TLS_DIR"
    rm -rf "$TLS_DIR"
    mkdir -p "$TLS_DIR"
    chmod 700 "$TLS_DIR"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    {
        openssl req -x509 "${ec[@]}" -days 3650 -subj "/CN=vinops devstack CA" \
            -keyout "$TLS_DIR/ca.key" -out "$TLS_CA" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" &&
        openssl req "${ec[@]}" -subj "/CN=localhost" \
            -keyout "$TLS_KEY" -out "$TLS_DIR/server.csr" &&
        printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" \
            "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid,issuer" >"$TLS_DIR/server.ext" &&
        openssl x509 -req -in "$TLS_DIR/server.csr" -CA "$TLS_CA" -CAkey "$TLS_DIR/ca.key" \
            -CAcreateserial -days 825 -extfile "$TLS_DIR/server.ext" -out "$TLS_CERT"
    } >"$STATE/tls.log" 2>&1 || die "openssl could not create the certificates (see $STATE/tls.log)"
    cat "$TLS_KEY" "$TLS_CERT" "$TLS_CA" >"$TLS_KAFKA_KEYSTORE"
    chmod 600 "$TLS_DIR"/*
    # The CA certificate is public: any local user may verify with it.
    chmod 755 "$TLS_DIR"
    chmod 644 "$TLS_CA"
}
