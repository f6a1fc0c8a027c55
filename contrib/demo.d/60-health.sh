# shellcheck shell=bash disable=SC2154
# smtpcheck-health against the lab (sourced by contrib/demo.sh: uses run, $bin, $LAB_*):
# start the daemon with three profiles, ask it over HTTP, reload, stop.
health="$bin/smtpcheck-health"
if [ ! -x "$health" ] || ! command -v curl >/dev/null; then
	echo "(no $health or no curl: smtpcheck-health demo skipped)"
	echo
	return 0
fi
echo "== smtpcheck-health against the lab =="
echo
hdir=$(mktemp -d)
cat >"$hdir/health.ini" <<INI
[smtpcheck-health]
listen = 127.0.0.1:0
max-age = 10

[mx]
plugin = conn
hostname = 127.0.0.1
port = $LAB_PLAIN_PORT
starttls
ca-file = $LAB_CA

[submission]
plugin = auth
hostname = 127.0.0.1
port = $LAB_SUBMISSION_PORT
ca-file = $LAB_CA
verify-name = mx.lab.test
user = $LAB_USER
password-ref = file:$LAB_PASSWORD_FILE

[fault]
plugin = conn
hostname = 127.0.0.1
port = $LAB_FAULT_PORT
timeout = 2
INI
cat "$hdir/health.ini"
echo
"$health" --config "$hdir/health.ini" 2>"$hdir/log" &
hpid=$!
haddr=""
for _ in $(seq 50); do
	haddr=$(sed -n 's/.*msg=serving listen=\([^ ]*\).*/\1/p' "$hdir/log")
	[ -n "$haddr" ] && break
	sleep 0.1
done
if [ -z "$haddr" ]; then
	echo "smtpcheck-health did not start:"
	cat "$hdir/log"
else
	for path in /health/mx /health/submission /health/fault; do
		echo "\$ curl -s http://$haddr$path"
		curl -s -w '[HTTP %{http_code}]\n' "http://$haddr$path"
		echo
	done
	echo "\$ curl -sI http://$haddr/health   # all checks, from the cache: no new SMTP session"
	curl -sI "http://$haddr/health" | head -1
	echo "\$ curl -s http://$haddr/metrics | grep -v '^#' | head -8"
	curl -s "http://$haddr/metrics" | grep -v '^#' | head -8
	echo
	kill -HUP "$hpid"
	sleep 0.3
fi
kill -TERM "$hpid" 2>/dev/null
wait "$hpid"
echo "[exit $?]"
echo "-- the daemon's log --"
cat "$hdir/log"
echo
rm -rf "$hdir"
