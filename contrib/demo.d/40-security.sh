# shellcheck shell=bash disable=SC2154
# check_smtp_security against the lab (sourced by contrib/demo.sh: uses run, $bin, $LAB_*).
# The lab takes every recipient (a catch-all), so the open-relay sub-check
# is inconclusive there, not a false "open relay"; VRFY answers 252 for
# everyone, which tells nothing.
sec="$bin/check_smtp_security"
echo "== check_smtp_security against the lab =="
echo
run "$sec" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" --ca-file "$LAB_CA" --verify-name mx.lab.test
run "$sec" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --role submission --ca-file "$LAB_CA" --verify-name mx.lab.test --skip weak_tls
run "$sec" -H 127.0.0.1 -p "$LAB_SMTPS_PORT" --role submissions --ca-file "$LAB_CA" --verify-name mx.lab.test --output json
echo "-- check_smtp_security, failing variants --"
echo
run "$sec" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" --no-tls --only starttls,open_relay --state open_relay=critical
run "$sec" -H 127.0.0.1 -p "$LAB_FAULT_PORT" --only banner
