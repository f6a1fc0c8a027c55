# shellcheck shell=bash disable=SC2154
# check_smtp_load against the lab (sourced by contrib/demo.sh: uses run, $bin, $LAB_*).
# Small and bounded: a few hundred messages to sink@lab.test, which the lab
# accepts without filing it in a mailbox.
load="$bin/check_smtp_load"
if [ ! -x "$load" ]; then
	echo "(no $load: check_smtp_load demo skipped)"
	echo
	return 0
fi
echo "== check_smtp_load against the lab =="
echo
# Closed loop: 4 sessions at once, a new connection per message, 300 messages.
run "$load" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" --to sink@lab.test --sessions 4 --messages 300
# Open loop: 50 messages per second for 2 s on sessions of 10 messages, STARTTLS in each; p99 thresholds.
run "$load" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" -S --ca-file "$LAB_CA" --verify-name mx.lab.test --to sink@lab.test \
	--rate 50 --sessions 5 --per-session 10 --duration 2 -w 0.5 -c 2
