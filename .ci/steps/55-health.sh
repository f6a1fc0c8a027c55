#!/usr/bin/env bash
# CI step: install the .deb (built by 50-packages.sh), check the system user,
# the unit and the conffile of smtpcheck-health, then run the unit's
# ExecStart line as the unit's User (systemd does not run here) with the
# packaged config, and ask it over HTTP: /health/local (Postfix on
# 127.0.0.1:25, started by .ci/run), /metrics, SIGHUP, SIGTERM; a private
# HAProxy takes a backend DOWN when the SMTP server behind its check stops
# and UP again when it returns. Purge at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

fail() { echo "55-health: FAIL: $*" >&2; exit 1; }
say() { echo "--- $*"; }
unit=/usr/lib/systemd/system/smtpcheck-health.service

deb=$(ls dist/smtpcheck_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { bash packaging/build.sh; deb=$(ls dist/smtpcheck_*.deb); }
# A fresh install: a failed earlier run may have left its edited conffile.
dpkg -P smtpcheck >/dev/null 2>&1 || true
say "dpkg -i $deb"
dpkg -i "$deb"
getent passwd smtpcheck || fail "postinstall created no user smtpcheck"
[ "$(id -u smtpcheck)" -ne 0 ] || fail "smtpcheck is root"
[ -f "$unit" ] || fail "no $unit"
dpkg-query -W -f='${Conffiles}\n' smtpcheck | grep -q ' /etc/smtpcheck/health.ini ' || fail "/etc/smtpcheck/health.ini is not a conffile"
user=$(sed -n 's/^User=//p' "$unit")
[ "$user" = smtpcheck ] || fail "the unit runs as '$user', want smtpcheck"
grep -qx 'NoNewPrivileges=yes' "$unit" || fail "the unit lacks its hardening"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
fi
exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$exec_line" ] || fail "no ExecStart in $unit"
/usr/sbin/smtpcheck-health --version

say "ExecStart as $user: $exec_line"
log=$(mktemp)
chmod 644 "$log"
# setpriv execs the line itself (no child in between), so $pid gets the signals.
# shellcheck disable=SC2086 # the unit's line, split as systemd splits it (no quotes in it)
setpriv --reuid="$user" --regid="$user" --init-groups -- $exec_line 2>"$log" &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap 'stop; cat "$log"; rm -f "$log"' EXIT
url=http://127.0.0.1:9825
for _ in $(seq 100); do curl -s -o /dev/null "$url/health" && break; sleep 0.1; done

body=$(mktemp)
status=$(curl -s -o "$body" -w '%{http_code}' "$url/health/local")
cat "$body"
[ "$status" = 200 ] || fail "GET /health/local: $status, want 200 (Postfix on 127.0.0.1:25)"
[ "$(jq -r .state "$body")" = OK ] || fail "state is not OK"
[ "$(curl -s -o /dev/null -w '%{http_code}' -I "$url/health")" = 200 ] || fail "HEAD /health is not 200"
curl -s "$url/metrics" | grep -x 'smtpcheck_health_state{check="local",plugin="conn"} 0' || fail "/metrics lacks the state"
probes=$(curl -s "$url/metrics" | sed -n 's/^smtpcheck_health_probes_total{check="local",plugin="conn"} //p')
[ "$probes" = 1 ] || fail "$probes probes for 4 requests within max-age, want 1"

say "SIGHUP reloads: add a profile [dead] for a port nobody listens on, [flap] for a lab server we stop and start, max-age 1"
# The lab server (bin/smtpcheck-lab, built by make demo) is the SMTP server
# behind [flap]: unlike Postfix it can be stopped without harm to later steps.
labdir=$(mktemp -d)
lab=""
lab_start() {
	bin/smtpcheck-lab -dir "$labdir" -base-port 2600 >/dev/null 2>&1 &
	lab=$!
	for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/2600) 2>/dev/null && return; sleep 0.1; done
	fail "the lab server does not listen on 127.0.0.1:2600"
}
lab_stop() { [ -z "$lab" ] || { kill "$lab" 2>/dev/null || true; wait "$lab" 2>/dev/null || true; lab=""; }; }
[ -x bin/smtpcheck-lab ] || make build >/dev/null
lab_start
conf=/etc/smtpcheck/health.ini
grep -q '^max-age = 30$' "$conf" || fail "the packaged $conf has no 'max-age = 30' line to shorten"
sed -i 's/^max-age = 30$/max-age = 1/' "$conf"
printf '\n[dead]\nplugin = conn\nhostname = 127.0.0.1\nport = 1\ntimeout = 2\n\n[flap]\nplugin = conn\nhostname = 127.0.0.1\nport = 2600\ntimeout = 2\n' >>"$conf"
kill -HUP "$pid"
for _ in $(seq 50); do grep -q 'msg=reloaded' "$log" && break; sleep 0.1; done
grep -q 'msg=reloaded' "$log" || fail "no reload in the log"
status=$(curl -s -o /dev/null -w '%{http_code}' "$url/health/dead")
[ "$status" = 503 ] || fail "GET /health/dead: $status, want 503 (nothing on 127.0.0.1:1)"

say "a private HAProxy checks both through the daemon (option httpchk)"
hdir=$(mktemp -d)
# Both servers are Postfix's port 25, checked as contrib/health/haproxy.cfg
# does; only the profile asked differs, so each has its own backend.
cat >"$hdir/haproxy.cfg" <<EOF
global
    stats socket $hdir/stats.sock mode 600 level admin
defaults
    mode tcp
    timeout connect 2s
    timeout client 5s
    timeout server 5s
backend smtp
    option httpchk GET /health/local
    http-check expect status 200
    default-server inter 300ms fall 1 rise 1
    server up 127.0.0.1:25 check port 9825
backend smtp-dead
    option httpchk GET /health/dead
    http-check expect status 200
    default-server inter 300ms fall 1 rise 1
    server down 127.0.0.1:25 check port 9825
backend smtp-flap
    option httpchk GET /health/flap
    http-check expect status 200
    default-server inter 300ms fall 1 rise 1
    server flap 127.0.0.1:2600 check port 9825
EOF
haproxy -c -f "$hdir/haproxy.cfg" >/dev/null || fail "haproxy -c rejects $hdir/haproxy.cfg"
haproxy -db -f "$hdir/haproxy.cfg" >"$hdir/haproxy.log" 2>&1 &
hpid=$!
trap 'kill "$hpid" 2>/dev/null || true; lab_stop; stop; cat "$log"; rm -f "$log"; rm -rf "$hdir" "$labdir"' EXIT
# "show stat" CSV: status (18), check_status (37), check_code (38). A server
# starts UP before any check, so UP counts only with the check's own 200.
# Until HAProxy has made its socket, socat fails: not an error yet.
srvstate() { { echo "show stat" | socat - "UNIX-CONNECT:$hdir/stats.sock" 2>/dev/null || true; } | awk -F, -v b="$1" '$1 == b && $2 != "BACKEND" { print $18 "/" $37 "/" $38 }'; }
up='' down=''
for _ in $(seq 100); do
	up=$(srvstate smtp) down=$(srvstate smtp-dead)
	[ "$up" = UP/L7OK/200 ] && [ "$down" = DOWN/L7STS/503 ] && break
	sleep 0.1
done
echo "show servers state" | socat - "UNIX-CONNECT:$hdir/stats.sock"
[ "$up" = UP/L7OK/200 ] || fail "HAProxy: the server checked by /health/local is $up, want UP/L7OK/200"
[ "$down" = DOWN/L7STS/503 ] || fail "HAProxy: the server checked by /health/dead is $down, want DOWN/L7STS/503"
# waitstate BACKEND WANT: HAProxy's view within 10 s (max-age 1 s + checks).
waitstate() {
	local got=''
	for _ in $(seq 100); do
		got=$(srvstate "$1")
		[ "$got" = "$2" ] && return
		sleep 0.1
	done
	fail "HAProxy: the server of $1 is $got, want $2"
}
say "the lab server behind /health/flap: up, stopped, started again"
waitstate smtp-flap UP/L7OK/200
lab_stop
waitstate smtp-flap DOWN/L7STS/503
lab_start
waitstate smtp-flap UP/L7OK/200
lab_stop
kill "$hpid"
wait "$hpid" 2>/dev/null || true
rm -rf "$hdir" "$labdir"
trap 'stop; cat "$log"; rm -f "$log"' EXIT

say "SIGTERM stops with exit 0"
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" = 0 ] || fail "exit $rc after SIGTERM"
grep -q 'msg="shutting down"' "$log" || fail "no shutdown in the log"
cat "$log"
trap - EXIT
rm -f "$log" "$body"

say "dpkg -P smtpcheck"
dpkg -P smtpcheck
[ ! -e /etc/smtpcheck/health.ini ] || fail "/etc/smtpcheck/health.ini left after purge"
[ ! -e /usr/sbin/smtpcheck-health ] || fail "/usr/sbin/smtpcheck-health left after purge"
echo "ok"
