#!/usr/bin/env bash
# .ci/dns.sh start|stop|status
#
# A real DNS path for the DANE, MTA-STS and --mx tests, on loopback only:
#
#   127.0.0.1:5320 BIND named, authoritative only (recursion no): zones
#                  signed.test (DNSSEC-signed at start), unsigned.test, and
#                  bogus.test (signed, but unbound trusts another key for it);
#                  any other name is REFUSED
#   127.0.0.21:53  unbound, validating, with trust anchors for signed.test and
#                  bogus.test only, forwarding every query to the named above
#                  and nowhere else (no root hints are ever used)
#
# The TLSA records hash the certificates of .ci/mailserver.sh's Postfix, so
# run this after `mailserver.sh start` (it reads $SMTPCHECK_MAIL_DIR/tls).
# The records, as the tests in internal/tlscheck and internal/conncheck
# (realdns_test.go) expect them:
#
#   signed.test          MX 10 mx.signed.test; _mta-sts TXT "v=STSv1; id=..."
#                        TXT v=spf1 mx -all; _dmarc p=reject; _smtp._tls TLSRPTv1
#                        (check_smtp_security --domain: every row right)
#   unsigned.test        TXT v=spf1 +all; _dmarc p=none (every row wrong)
#   mx.signed.test       A 127.0.0.1, TLSA 3 1 1 of valid.crt (DANE-EE match)
#   mismatch.signed.test A 127.0.0.1, TLSA 3 1 1 of another key
#   ta.signed.test       A 127.0.0.1, TLSA 2 0 0 of the CA (DANE-TA, anchor not sent)
#   alias.signed.test    CNAME mx.signed.test (signed CNAME to the MX host)
#   nullmx.signed.test   MX 0 .             nomx.signed.test  A 127.0.0.1 (no MX)
#   dangling.signed.test MX 10 gone.signed.test (which does not exist)
#   mx.unsigned.test     A 127.0.0.1, TLSA 3 1 1 of another key (insecure)
#   mx.bogus.test        A 127.0.0.1, TLSA 3 1 1 of valid.crt (bogus: SERVFAIL)
#
# `start` writes $SMTPCHECK_DNS_DIR/env (default /tmp/smtpcheck-dns/env):
#   SMTPCHECK_DNS=1, SMTPCHECK_DNS_RESOLVER, SMTPCHECK_DNS_AUTH.
# Must run as root (port 53). The distribution's own named/unbound services
# are never started (.ci/run installs with policy-rc.d) nor touched.
set -euo pipefail

DNS_DIR="${SMTPCHECK_DNS_DIR:-/tmp/smtpcheck-dns}"
DNS_DIR="${DNS_DIR%/}"
case "$DNS_DIR" in # start empties it
  /?*/?* | /tmp/?*) ;;
  *) echo "dns: SMTPCHECK_DNS_DIR must be an absolute path two levels deep, e.g. /tmp/smtpcheck-dns" >&2; exit 2 ;;
esac
case "$DNS_DIR" in
  *[[:space:]]*) echo "dns: SMTPCHECK_DNS_DIR must be a path without whitespace" >&2; exit 2 ;;
esac
MAIL_DIR="${SMTPCHECK_MAIL_DIR:-/tmp/smtpcheck-mail}"
# named listens only on addresses of an interface (lo has 127.0.0.1 alone),
# so it takes a spare port there; unbound binds any loopback address.
AUTH_ADDR=127.0.0.1
AUTH_PORT=5320
RESOLVER_ADDR=127.0.0.21
ENV_FILE="$DNS_DIR/env"
PACKAGES=(bind9 bind9-utils bind9-dnsutils unbound)

die() { echo "dns: $*" >&2; exit 1; }

need_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local made=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
  [ "$made" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

# kill_pidfile stops the daemon whose pid the file holds, if it is ours.
kill_pidfile() {
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

cmd_stop() {
  kill_pidfile "$DNS_DIR/unbound.pid"
  kill_pidfile "$DNS_DIR/named.pid"
  rm -f "$ENV_FILE"
}

# tlsa_spki prints the SHA-256 of a certificate's public key (TLSA x 1 1).
tlsa_spki() {
  openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}

# tlsa_cert prints a certificate's DER in hex (TLSA x 0 0).
tlsa_cert() { openssl x509 -in "$1" -outform DER | od -An -v -tx1 | tr -d ' \n'; }

write_zones() {
  local valid="$MAIL_DIR/tls/valid.crt" ca="$MAIL_DIR/tls/ca.crt" other serial
  [ -r "$valid" ] && [ -r "$ca" ] || die "no $valid: run .ci/mailserver.sh start first"
  other=$(printf 'not the key of any certificate' | openssl dgst -sha256 -r | cut -d' ' -f1)
  serial=$(date +%s)
  local soa="@ 300 IN SOA ns.invalid. hostmaster.invalid. $serial 300 60 86400 60
@ 300 IN NS ns.invalid."
  cat >"$DNS_DIR/signed.test.zone" <<EOF
\$ORIGIN signed.test.
\$TTL 60
$soa
@ MX 10 mx
_mta-sts TXT "v=STSv1; id=20261204"
@ TXT "v=spf1 mx -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@signed.test"
_smtp._tls TXT "v=TLSRPTv1; rua=mailto:tls-reports@signed.test"
mx A 127.0.0.1
_25._tcp.mx TLSA 3 1 1 $(tlsa_spki "$valid")
mismatch A 127.0.0.1
_25._tcp.mismatch TLSA 3 1 1 $other
ta A 127.0.0.1
_25._tcp.ta TLSA 2 0 0 $(tlsa_cert "$ca")
alias CNAME mx
nullmx MX 0 .
nomx A 127.0.0.1
dangling MX 10 gone
EOF
  cat >"$DNS_DIR/unsigned.test.zone" <<EOF
\$ORIGIN unsigned.test.
\$TTL 60
$soa
@ MX 10 mx
@ TXT "v=spf1 +all"
_dmarc TXT "v=DMARC1; p=none"
mx A 127.0.0.1
_25._tcp.mx TLSA 3 1 1 $other
EOF
  cat >"$DNS_DIR/bogus.test.zone" <<EOF
\$ORIGIN bogus.test.
\$TTL 60
$soa
@ MX 10 mx
mx A 127.0.0.1
_25._tcp.mx TLSA 3 1 1 $(tlsa_spki "$valid")
EOF
  local z k
  : >"$DNS_DIR/anchors"
  for z in signed.test bogus.test; do
    k=$(cd "$DNS_DIR/keys" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK "$z")
    (cd "$DNS_DIR/keys" && dnssec-keygen -q -a ECDSAP256SHA256 "$z" >/dev/null)
    dnssec-signzone -q -S -K "$DNS_DIR/keys" -d "$DNS_DIR/keys" \
      -o "$z" -f "$DNS_DIR/$z.signed" "$DNS_DIR/$z.zone" >/dev/null
    # bogus.test: the validator is given a key the zone is not signed
    # with, so every answer from it fails validation (SERVFAIL)
    [ "$z" = bogus.test ] && k=$(cd "$DNS_DIR" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK "$z")
    { grep -hv '^;' "$DNS_DIR/keys/$k.key" "$DNS_DIR/$k.key" 2>/dev/null || true; echo; } >>"$DNS_DIR/anchors"
  done
}

write_configs() {
  cat >"$DNS_DIR/named.conf" <<EOF
options {
  directory "$DNS_DIR";
  pid-file "$DNS_DIR/named.pid";
  listen-on port $AUTH_PORT { $AUTH_ADDR; };
  listen-on-v6 { none; };
  recursion no;
  allow-query { 127.0.0.0/8; };
  dnssec-validation no;
  notify no;
};
controls { };
logging { channel f { file "$DNS_DIR/named.log"; severity info; }; category default { f; }; };
zone "signed.test" { type primary; file "$DNS_DIR/signed.test.signed"; };
zone "bogus.test" { type primary; file "$DNS_DIR/bogus.test.signed"; };
zone "unsigned.test" { type primary; file "$DNS_DIR/unsigned.test.zone"; };
EOF
  cat >"$DNS_DIR/unbound.conf" <<EOF
server:
  interface: $RESOLVER_ADDR
  port: 53
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  username: ""
  chroot: ""
  directory: "$DNS_DIR"
  pidfile: "$DNS_DIR/unbound.pid"
  logfile: "$DNS_DIR/unbound.log"
  use-syslog: no
  do-not-query-localhost: no
  module-config: "validator iterator"
  trust-anchor-file: "$DNS_DIR/anchors"
  val-log-level: 2
  cache-max-ttl: 5
  cache-max-negative-ttl: 5
  domain-insecure: "unsigned.test"
  # unbound answers test. itself (RFC 6761) unless told not to
  local-zone: "test." nodefault
remote-control:
  control-enable: no
# every name goes to the local named: nothing leaves the machine
forward-zone:
  name: "."
  forward-addr: $AUTH_ADDR@$AUTH_PORT
EOF
}

wait_answer() {
  local server=$1 port=$2 name=$3
  for _ in $(seq 50); do
    dig +time=1 +tries=1 -p "$port" @"$server" "$name" A >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  return 1
}

cmd_start() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (port 53)"
  need_packages
  cmd_stop
  rm -rf "$DNS_DIR"
  mkdir -p "$DNS_DIR/keys"
  write_zones
  write_configs
  named-checkconf "$DNS_DIR/named.conf"
  unbound-checkconf "$DNS_DIR/unbound.conf" >/dev/null
  named -4 -c "$DNS_DIR/named.conf" || die "named did not start (see $DNS_DIR/named.log)"
  wait_answer "$AUTH_ADDR" "$AUTH_PORT" mx.signed.test || { cmd_stop; die "named does not answer on $AUTH_ADDR"; }
  unbound -c "$DNS_DIR/unbound.conf" || { cmd_stop; die "unbound did not start (see $DNS_DIR/unbound.log)"; }
  wait_answer "$RESOLVER_ADDR" 53 mx.signed.test || { cmd_stop; die "unbound does not answer on $RESOLVER_ADDR"; }
  # The setup is right only if the validator says so.
  dig +dnssec @"$RESOLVER_ADDR" _25._tcp.mx.signed.test TLSA | grep -q 'flags:.* ad' ||
    { cmd_stop; die "signed.test does not validate (see $DNS_DIR/unbound.log)"; }
  dig @"$RESOLVER_ADDR" mx.bogus.test A | grep -q 'status: SERVFAIL' ||
    { cmd_stop; die "bogus.test does not fail validation"; }
  cat >"$ENV_FILE" <<EOF
# Generated by .ci/dns.sh start
SMTPCHECK_DNS=1
SMTPCHECK_DNS_RESOLVER=$RESOLVER_ADDR:53
SMTPCHECK_DNS_AUTH=$AUTH_ADDR:$AUTH_PORT
EOF
  echo "dns: named on $AUTH_ADDR:$AUTH_PORT, validating unbound on $RESOLVER_ADDR; env in $ENV_FILE"
}

cmd_status() {
  local ok=0
  for d in named unbound; do
    if [ -s "$DNS_DIR/$d.pid" ] && kill -0 "$(cat "$DNS_DIR/$d.pid")" 2>/dev/null; then
      echo "$d: running (pid $(cat "$DNS_DIR/$d.pid"))"
    else
      echo "$d: stopped"; ok=1
    fi
  done
  return "$ok"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
