#!/usr/bin/env bash
# check_smtp_tls against the real Postfix of .ci/mailserver.sh, side by side
# with check_ssl_cert (monitoring-plugins-contrib): both must reach the same
# exit code on the valid, the expired and the wrong-name listener. Then a
# short TLS benchmark run (the table is informative; it fails only when
# check_smtp_tls itself fails). check_ssl_cert runs with --ignore-ocsp and
# --ignore-sct: nothing leaves the machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

: "${SMTPCHECK_POSTFIX_CA:?load the env file of .ci/mailserver.sh start}"
name="${SMTPCHECK_POSTFIX_HOSTNAME:-mail.smtpcheck.test}"
ours=bin/check_smtp_tls
ref=/usr/lib/nagios/plugins/check_ssl_cert
[ -x "$ours" ] || make build
if [ ! -x "$ref" ]; then
  echo "10-tls: $ref missing (monitoring-plugins-contrib, .ci/packages.d/tls.txt)" >&2
  exit 1
fi

fail=0
for want in "127.0.0.1 0" "127.0.0.2 2" "127.0.0.3 2"; do
  set -- $want
  host=$1 code=$2
  set +e
  out_ours=$("$ours" -H "$host" -p 25 --ca-file "$SMTPCHECK_POSTFIX_CA" --verify-name "$name" -t 10)
  rc_ours=$?
  out_ref=$("$ref" -H "$host" -p 25 -P smtp --rootcert-file "$SMTPCHECK_POSTFIX_CA" -m "$name" \
    --ignore-ocsp --ignore-sct -w 30 -c 14 -t 30)
  rc_ref=$?
  set -e
  printf '%s:25 want %s\n  check_smtp_tls %s: %s\n  check_ssl_cert %s: %s\n' "$host" "$code" \
    "$rc_ours" "$(head -n1 <<<"$out_ours" | cut -c1-160)" "$rc_ref" "$(head -n1 <<<"$out_ref" | cut -c1-160)"
  if [ "$rc_ours" != "$code" ] || [ "$rc_ref" != "$code" ]; then
    echo "  MISMATCH" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] || exit 1

go run ./contrib/bench -mode tls -plugin "$ours" -target "${SMTPCHECK_POSTFIX_SMTP:-127.0.0.1:25}" \
  -ca "$SMTPCHECK_POSTFIX_CA" -name "$name" -n 3 -warmup 0
