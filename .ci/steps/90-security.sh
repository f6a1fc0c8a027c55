#!/usr/bin/env bash
# check_smtp_security beside nmap's SMTP scripts (smtp-open-relay,
# smtp-enum-users, smtp-commands) on port 25 of the hardened Postfix
# (.ci/mailserver.sh, 127.0.0.1) and the deliberately open one
# (.ci/postfix-open.sh, 127.0.0.6). Prints both verdicts, both wall times
# and their ratio; fails only when OUR verdicts are wrong: open_relay must
# be CRITICAL on the open one and OK on the hardened one (nmap's verdicts
# and the times are informative). No timed assertion. nmap runs with -n
# (no DNS) against loopback only; the open Postfix discards all mail.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

: "${SMTPCHECK_POSTFIX_CA:?load the env file of .ci/mailserver.sh start}"
: "${SMTPCHECK_OPEN_CA:?load the env file of .ci/postfix-open.sh start}"
ours=bin/check_smtp_security
[ -x "$ours" ] || make build
command -v nmap >/dev/null || { echo "90-security: nmap missing (.ci/packages.d/security.txt)" >&2; exit 1; }
command -v jq >/dev/null || { echo "90-security: jq missing" >&2; exit 1; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

fail=0
# name host ca verify-name expected-open_relay-state expected-exit
for row in "hardened 127.0.0.1 $SMTPCHECK_POSTFIX_CA ${SMTPCHECK_POSTFIX_HOSTNAME:-mail.smtpcheck.test} OK 0" \
  "open ${SMTPCHECK_OPEN_SMTP%:*} $SMTPCHECK_OPEN_CA ${SMTPCHECK_OPEN_HOSTNAME:-open.smtpcheck.test} CRITICAL 2"; do
  read -r name host ca vname want_relay want_rc <<<"$row"
  echo "== $name Postfix, $host:25 =="

  t0=$(now)
  nm=$(nmap -n -Pn -p 25 --script smtp-open-relay,smtp-enum-users,smtp-commands "$host" 2>&1) || true
  t1=$(now)
  set +e
  js=$("$ours" -H "$host" -p 25 --ca-file "$ca" --verify-name "$vname" -t 30 --output json)
  rc=$?
  set -e
  t2=$(now)

  nmap_relay=$(grep -oE "Server is an open relay.*|Server doesn't seem to be an open relay.*" <<<"$nm" | head -n1)
  nmap_users=$(sed -n '/smtp-enum-users:/,/^|_\|^[^|]/p' <<<"$nm" | sed 's/^/    /')
  relay=$(jq -r '.items[] | select(.id == "open_relay") | .state' <<<"$js" 2>/dev/null || echo "?")
  rows=$(jq -r '.items[] | "    \(.state) \(.id): \(.summary)"' <<<"$js" 2>/dev/null || echo "    (not JSON: $js)")
  tn=$(secs "$t0" "$t1")
  to=$(secs "$t1" "$t2")
  nmap_cmds=$(grep -oE 'smtp-commands: .*' <<<"$nm" | head -n1 | cut -c1-150)
  echo "  nmap ($tn s): ${nmap_relay:-no smtp-open-relay verdict}"
  [ -z "$nmap_cmds" ] || echo "    | $nmap_cmds"
  [ -z "$nmap_users" ] || printf '%s\n' "$nmap_users"
  echo "  check_smtp_security ($to s, exit $rc):"
  printf '%s\n' "$rows"
  echo "  wall time nmap / check_smtp_security: $(awk -v a="$tn" -v b="$to" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }')"
  if [ "$relay" != "$want_relay" ] || [ "$rc" != "$want_rc" ]; then
    echo "  WRONG: open_relay $relay (want $want_relay), exit $rc (want $want_rc)" >&2
    fail=1
  fi
done
[ "$fail" = 0 ] || exit 1
echo "90-security: our verdicts are right on both"
