#!/usr/bin/env bash
# make demo: start the embedded lab server on loopback and run the plugins
# against it, in passing and failing variants. Usage: contrib/demo.sh BINDIR
set -euo pipefail
bin=${1:-bin}
dir=$(mktemp -d)
"$bin/smtpcheck-lab" -dir "$dir" 2>"$dir/lab.log" &
lab=$!
trap 'kill $lab 2>/dev/null; wait $lab 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do [ -f "$dir/lab.env" ] && break; sleep 0.1; done
[ -f "$dir/lab.env" ] || { echo "lab server did not start:"; cat "$dir/lab.log"; exit 1; }
# shellcheck disable=SC1091
. "$dir/lab.env"

run() {
	echo "\$ $*"
	set +e
	"$@"
	echo "[exit $?]"
	set -e
	echo
}
conn="$bin/check_smtp_conn"
echo "== check_smtp_conn against the lab (CA: $LAB_CA) =="
echo
run "$conn" -H 127.0.0.1 -p "$LAB_PLAIN_PORT"
run "$conn" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" -S --verify --ca-file "$LAB_CA" -D 30,14 -w 1 -c 2
run "$conn" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" -S --ca-file "$LAB_CA" -A LOGIN -U "$LAB_USER" -P "$(cat "$LAB_PASSWORD_FILE")"
run "$conn" -H 127.0.0.1 -p "$LAB_SMTPS_PORT" -s --ca-file "$LAB_CA" --verify -A PLAIN -U "$LAB_USER" -P "$(cat "$LAB_PASSWORD_FILE")" -f monitor@lab.test --rcpt postmaster@lab.test
run "$conn" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" -S --output json
tls="$bin/check_smtp_tls"
echo "== check_smtp_tls against the lab =="
echo
run "$tls" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" --ca-file "$LAB_CA" --verify-name mx.lab.test --scan-versions
run "$tls" -H 127.0.0.1 -p "$LAB_SMTPS_PORT" -s --ca-file "$LAB_CA" -w 120 -c 60
run "$tls" -H 127.0.0.1 -p "$LAB_PLAIN_PORT"
# Further plugins add their demo in contrib/demo.d/*.sh (sourced; may use run, $bin, $LAB_*).
for d in "$(dirname "$0")"/demo.d/*.sh; do
	[ -e "$d" ] || continue
	# shellcheck disable=SC1090
	. "$d"
done
echo "== failing variants =="
echo
run "$conn" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" -S --verify
run "$conn" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" -S -A LOGIN -U "$LAB_USER" -P wrong-password
run "$conn" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" -e "Postfix"
run "$conn" -H 127.0.0.1 -p "$LAB_FAULT_PORT"
run "$conn" -H 127.0.0.1 -p "$LAB_SMTPS_PORT" -t 2
run "$conn" -H 127.0.0.1 -p "$LAB_SMTPS_PORT" -s -f monitor@lab.test --rcpt postmaster@lab.test
run "$conn" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" --bogus
