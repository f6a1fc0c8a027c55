# Sourced by .ci/exim.sh and .ci/postfix-open.sh: the extra test servers'
# certificates, signed like .ci/mailserver.sh's so one CA file trusts them all.

# sign_leaf TLS_DIR CA_COPY NAME ADDR CA_CN writes TLS_DIR/leaf.key and
# TLS_DIR/leaf.crt for NAME and ADDR, signed by mailserver.sh's CA
# ($MAIL_DIR) or, when that is missing, by a CA of its own named CA_CN; the
# CA used is copied to CA_COPY. Fails when the leaf does not verify.
sign_leaf() {
  local dir="$1" ca_copy="$2" name="$3" addr="$4" ca_cn="$5"
  mkdir -p "$dir"
  chmod 0755 "$dir"
  local ca_crt="$MAIL_DIR/ca.pem" ca_key="$MAIL_DIR/tls/ca.key"
  if [ ! -s "$ca_crt" ] || [ ! -s "$ca_key" ]; then
    ca_crt="$dir/ca.pem"
    ca_key="$dir/ca.key"
    if [ ! -s "$ca_key" ]; then
      openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
        -keyout "$ca_key" -out "$ca_crt" -subj "/O=smtpcheck test/CN=$ca_cn" \
        -addext "basicConstraints = critical, CA:TRUE" \
        -addext "keyUsage = critical, keyCertSign, cRLSign" 2>/dev/null
      chmod 0600 "$ca_key"
    fi
  fi
  cp "$ca_crt" "$ca_copy"
  printf '[ v3_srv ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\nextendedKeyUsage = serverAuth\nsubjectAltName = DNS:%s, IP:%s\n' \
    "$name" "$addr" >"$dir/leaf.ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/leaf.key" -out "$dir/leaf.csr" \
    -subj "/O=smtpcheck test/CN=$name" 2>/dev/null
  openssl x509 -req -in "$dir/leaf.csr" -CA "$ca_crt" -CAkey "$ca_key" -CAcreateserial \
    -CAserial "$dir/ca.srl" -days 3650 -sha256 -extfile "$dir/leaf.ext" -extensions v3_srv \
    -out "$dir/leaf.crt" 2>/dev/null
  rm -f "$dir/leaf.csr"
  chmod 0600 "$dir/leaf.key"
  openssl verify -CAfile "$ca_copy" "$dir/leaf.crt" >/dev/null
}
