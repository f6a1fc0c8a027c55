#!/usr/bin/env bash
# CI step: validate the contrib configs with the real engines and run one
# real Icinga 2 end to end.
#   1. icinga2 daemon -C: ITL + contrib CheckCommands + example services, and
#      the satellite/agent zone example
#   2. nagios4 -v: the contrib command definitions + example services
#   3. zabbix_agentd -t: every UserParameter against the local Postfix
#   4. Icinga 2 for real (private config and directories, API on
#      127.0.0.1:15665): force the checks through the REST API and read
#      state, output and perfdata back
# Needs the Postfix of .ci/mailserver.sh (127.0.0.1:25/465/587, 127.0.0.2:25,
# and 127.0.0.4:25/587, whose certificate names only mail.smtpcheck.test).
# Everything stays on loopback; the plugins come from bin/ (step 50 tests the
# installed package).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)

fail() {
	echo "60-engines: FAIL: $*" >&2
	exit 1
}
say() { echo "--- $*"; }

if [ -z "${SMTPCHECK_POSTFIX:-}" ] && [ -f "${SMTPCHECK_MAIL_DIR:-/tmp/smtpcheck-mail}/env" ]; then
	set -a
	# shellcheck disable=SC1091
	. "${SMTPCHECK_MAIL_DIR:-/tmp/smtpcheck-mail}/env"
	set +a
fi
[ -n "${SMTPCHECK_POSTFIX:-}" ] || fail "no Postfix: run 'bash .ci/mailserver.sh start' first"
for b in icinga2 nagios4 zabbix_agentd curl jq openssl; do
	command -v "$b" >/dev/null || fail "$b missing (.ci/packages.d/packaging.txt)"
done

make -s build
plugins=$(cd bin && ls check_smtp_*)

T=$(mktemp -d /tmp/smtpcheck-engines.XXXXXX)
[ -d "$T" ] || fail "mktemp"
I="$T/icinga2"
N="$T/nagios"
Z="$T/zabbix"
icinga_pid=""
cleanup() {
	if [ -n "$icinga_pid" ] && kill -0 "$icinga_pid" 2>/dev/null; then
		kill "$icinga_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$icinga_pid" 2>/dev/null || break
			sleep 0.2
		done
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# --- 1. icinga2 daemon -C -----------------------------------------------------
mkdir -p "$I/data" "$I/log" "$I/cache" "$I/spool" "$I/run"
# Private directories and no privilege drop: nothing under /var or /etc is written.
icinga_defs=(-DConfiguration.DataDir="$I/data" -DConfiguration.LogDir="$I/log"
	-DConfiguration.CacheDir="$I/cache" -DConfiguration.SpoolDir="$I/spool"
	-DConfiguration.InitRunDir="$I/run" -DConfiguration.RunAsUser=root -DConfiguration.RunAsGroup=root)
icinga_check() { # FILE: validate; print errors and the object counts
	local out rc=0
	out=$(icinga2 daemon -C -c "$1" "${icinga_defs[@]}" 2>&1) || rc=$?
	grep -E 'critical/|warning/config|Instantiated' <<<"$out" || true
	if [ "$rc" != 0 ]; then
		echo "$out" | tail -30
		fail "icinga2 daemon -C -c $1 exited $rc"
	fi
}

{
	echo 'const TicketSalt = ""'
	echo "const PluginDir = \"$REPO/bin\""
	echo "const PluginContribDir = \"$REPO/bin\""
	echo "const ManubulonPluginDir = \"$REPO/bin\""
	echo 'include <itl>'
	echo 'include <plugins>'
	echo "include \"$REPO/contrib/icinga2/smtpcheck-commands.conf\""
} >"$I/head.conf"

say "icinga2 daemon -C: ITL + contrib CheckCommands + services.conf"
{
	echo 'const NodeName = "ci.smtpcheck.test"'
	echo 'const ZoneName = NodeName'
	echo "include \"$I/head.conf\""
	echo "include \"$REPO/contrib/icinga2/services.conf\""
	echo 'object Host "mail" {'
	echo '	check_command = "dummy"'
	echo '	address = "127.0.0.1"'
	echo '	vars.smtp_server = true'
	echo '	vars.smtp_submission = true'
	echo '	vars.smtp_smtps = true'
	echo "	vars.smtp_ca_file = \"$SMTPCHECK_POSTFIX_CA\""
	echo "	vars.smtp_login_user = \"$SMTPCHECK_POSTFIX_USER\""
	echo "	vars.smtp_login_password_ref = \"file:$SMTPCHECK_POSTFIX_PASSWORD_FILE\""
	echo '}'
	echo 'object Host "expired" {'
	echo '	check_command = "dummy"'
	echo '	address = "127.0.0.2"'
	echo '	vars.smtp_server = true'
	echo "	vars.smtp_ca_file = \"$SMTPCHECK_POSTFIX_CA\""
	echo '}'
	# Checked by address, named by its DNS name: the only name its certificate carries.
	echo "object Host \"$SMTPCHECK_POSTFIX_HOSTNAME\" {"
	echo '	check_command = "dummy"'
	echo "	address = \"$SMTPCHECK_POSTFIX_DNSONLY\""
	echo '	vars.smtp_server = true'
	echo '	vars.smtp_submission = true'
	echo "	vars.smtp_ca_file = \"$SMTPCHECK_POSTFIX_CA\""
	echo "	vars.smtp_login_user = \"$SMTPCHECK_POSTFIX_USER\""
	echo "	vars.smtp_login_password_ref = \"file:$SMTPCHECK_POSTFIX_PASSWORD_FILE\""
	echo '}'
	# The README's way to a password kept in Icinga: the variable fills the environment.
	echo "object Service \"smtp-login-env\" {"
	echo "	host_name = \"$SMTPCHECK_POSTFIX_HOSTNAME\""
	echo '	check_command = "smtpcheck_auth"'
	echo "	vars.smtpcheck_auth_user = \"$SMTPCHECK_POSTFIX_USER\""
	echo "	vars.smtpcheck_auth_password = \"$(cat "$SMTPCHECK_POSTFIX_PASSWORD_FILE")\""
	echo '	vars.smtpcheck_auth_password_ref = "env:SMTPCHECK_PASSWORD"'
	echo "	vars.smtpcheck_auth_ca_file = \"$SMTPCHECK_POSTFIX_CA\""
	echo '}'
} >"$I/icinga2.conf"
icinga_check "$I/icinga2.conf"
for p in $plugins; do
	c="smtpcheck_${p#check_smtp_}"
	grep -q "object CheckCommand \"$c\"" contrib/icinga2/smtpcheck-commands.conf || fail "no CheckCommand $c"
done

say "icinga2 daemon -C: zones-example.conf (master side; its commented host/services in zones.d/master)"
mkdir -p "$I/zones.d/master"
sed -n '/^\/\/ On the master, in \/etc\/icinga2\/zones.d\/master/,/^\/\/ A satellite/p' contrib/icinga2/zones-example.conf |
	sed -n 's|^//   ||p' >"$I/zones.d/master/smtp.conf"
grep -q command_endpoint "$I/zones.d/master/smtp.conf" || fail "could not extract the zone example's services"
{
	echo 'const NodeName = "master1.example.org"'
	echo 'const ZoneName = "master"'
	echo "include \"$I/head.conf\""
	echo "include \"$REPO/contrib/icinga2/zones-example.conf\""
	echo "include_zones \"example\", \"$I/zones.d\""
} >"$I/zones.conf"
icinga_check "$I/zones.conf"

# --- 2. nagios4 -v ------------------------------------------------------------
say "nagios4 -v: contrib command definitions + example services"
mkdir -p "$N/checkresults"
{
	echo "# The host check of Debian's linux-server template comes from monitoring-plugins' configs."
	echo "define command {"
	echo "	command_name	check-host-alive"
	echo "	command_line	/bin/true"
	echo "}"
} >"$N/ci-local.cfg"
{
	echo "log_file=$N/nagios.log"
	for f in commands contacts timeperiods templates; do echo "cfg_file=/etc/nagios4/objects/$f.cfg"; done
	for f in contrib/nagios/*.cfg; do echo "cfg_file=$REPO/$f"; done
	echo "cfg_file=$N/ci-local.cfg"
	echo "resource_file=/etc/nagios4/resource.cfg"
	for k in status_file:status.dat temp_file:nagios.tmp lock_file:nagios.lock state_retention_file:retention.dat \
		object_cache_file:objects.cache precached_object_file:objects.precache command_file:nagios.cmd; do
		echo "${k%%:*}=$N/${k#*:}"
	done
	echo "temp_path=$N"
	echo "check_result_path=$N/checkresults"
	echo "nagios_user=root"
	echo "nagios_group=root"
	grep '^illegal_macro_output_chars=' /etc/nagios4/nagios.cfg || echo 'illegal_macro_output_chars=`~$&|<>'
} >"$N/nagios.cfg"
rc=0
nagios4 -v "$N/nagios.cfg" >"$N/verify.out" 2>&1 || rc=$?
grep -E '^(Error|Warning)|Checked [0-9]+ (services|hosts|commands)\.|Total (Warnings|Errors)' "$N/verify.out" || true
[ "$rc" = 0 ] || fail "nagios4 -v exited $rc"
grep -q 'Total Errors: *0' "$N/verify.out" || fail "nagios4 -v reports errors"
grep -q 'Total Warnings: *0' "$N/verify.out" || fail "nagios4 -v reports warnings"
for p in $plugins; do
	c="check_smtpcheck_${p#check_smtp_}"
	grep -q "command_name.*$c\$" "contrib/nagios/$p.cfg" || fail "no Nagios command $c"
done

# --- 3. zabbix_agentd -t ------------------------------------------------------
say "zabbix_agentd -t: every UserParameter against the local Postfix"
mkdir -p "$Z"
sed "s|/usr/lib/nagios/plugins/|$REPO/bin/|" contrib/zabbix/userparameter_smtpcheck.conf >"$Z/userparameter_smtpcheck.conf"
zconf() { # FILE UNSAFE
	printf 'LogType=console\nPidFile=%s/zabbix_agentd.pid\nAllowRoot=1\nTimeout=10\nUnsafeUserParameters=%s\nInclude=%s/userparameter_smtpcheck.conf\n' \
		"$Z" "$2" "$Z" >"$1"
}
zconf "$Z/agentd.conf" 0
zconf "$Z/agentd-unsafe.conf" 1 # the Postfix test user name has an @
# zabbix_agentd -t prints "KEY   [t|VALUE]"; the value is the plugin's JSON.
ztest() { # CONF KEY WANT_EXIT_CODE
	local out json code
	out=$(zabbix_agentd -c "$1" -t "$2" 2>&1) || fail "zabbix_agentd -t $2: $out"
	json=$(sed -n 's/^.*\[t|\(.*\)\]$/\1/p' <<<"$out")
	[ -n "$json" ] || fail "zabbix_agentd -t $2: no text value: $out"
	code=$(jq -r .exit_code <<<"$json") || fail "zabbix_agentd -t $2: not JSON: $json"
	printf '%s\n    exit_code=%s state=%s summary=%s\n' "$2" "$code" "$(jq -r .state <<<"$json")" "$(jq -r .summary <<<"$json" | cut -c1-100)"
	[ "$code" = "$3" ] || fail "zabbix_agentd -t $2: exit_code $code, want $3"
}
grep -o '^UserParameter=[^[]*' contrib/zabbix/userparameter_smtpcheck.conf | sed 's/UserParameter=//' >"$Z/keys"
for p in $plugins; do
	[ "$p" = check_smtp_load ] && continue # a load test is no periodic item: packaging/gen's zabbixSkip
	grep -qx "smtpcheck.${p#check_smtp_}" "$Z/keys" || fail "no UserParameter for $p"
done
while read -r k; do
	case $k in
	smtpcheck.conn)
		ztest "$Z/agentd.conf" "smtpcheck.conn[127.0.0.1,5,--starttls --warning=2 --critical=5]" 0
		ztest "$Z/agentd.conf" "smtpcheck.conn[127.0.0.1,5,--ssl --port=465]" 0
		# A CRITICAL result must still arrive as a value (the agent ignores the exit code).
		ztest "$Z/agentd.conf" "smtpcheck.conn[127.0.0.1,2,--port=1]" 2
		;;
	smtpcheck.tls)
		ztest "$Z/agentd.conf" "smtpcheck.tls[127.0.0.1,5,--ca-file=$SMTPCHECK_POSTFIX_CA]" 0
		ztest "$Z/agentd.conf" "smtpcheck.tls[127.0.0.2,5,--ca-file=$SMTPCHECK_POSTFIX_CA]" 2
		;;
	smtpcheck.auth)
		ztest "$Z/agentd-unsafe.conf" "smtpcheck.auth[127.0.0.1,5,--port=587 --starttls --ca-file=$SMTPCHECK_POSTFIX_CA --user=$SMTPCHECK_POSTFIX_USER --password-ref=file:$SMTPCHECK_POSTFIX_PASSWORD_FILE]" 0
		;;
	smtpcheck.delivery)
		ztest "$Z/agentd-unsafe.conf" "smtpcheck.delivery[127.0.0.1,20,--port=587 --ca-file=$SMTPCHECK_POSTFIX_CA --user=$SMTPCHECK_POSTFIX_USER --password-ref=file:$SMTPCHECK_POSTFIX_PASSWORD_FILE --imap-user=$SMTPCHECK_POSTFIX_USER --imap-password-ref=file:$SMTPCHECK_POSTFIX_PASSWORD_FILE --state-dir=$Z/delivery-state]" 0
		;;
	smtpcheck.security)
		# The local Postfix is hardened (.ci/mailserver.sh): every sub-check passes.
		ztest "$Z/agentd.conf" "smtpcheck.security[127.0.0.1,8,--ca-file=$SMTPCHECK_POSTFIX_CA]" 0
		ztest "$Z/agentd.conf" "smtpcheck.security[127.0.0.1,8,--port=587 --ca-file=$SMTPCHECK_POSTFIX_CA]" 0
		# The deliberately open one (.ci/postfix-open.sh): CRITICAL.
		ztest "$Z/agentd.conf" "smtpcheck.security[127.0.0.6,8,--ca-file=$SMTPCHECK_OPEN_CA]" 2
		;;
	*) fail "no zabbix_agentd test for $k: add one to .ci/steps/60-engines.sh" ;;
	esac
done <"$Z/keys"

say "Zabbix template: master items use the UserParameter keys"
tpl=contrib/zabbix/template_smtpcheck.yaml
while read -r k; do
	grep -qx "$k" "$Z/keys" || fail "template item $k has no UserParameter"
done < <(grep -o "key: 'smtpcheck\.[a-z]*\[" "$tpl" | sed "s/key: '//; s/\[//" | sort -u)
while read -r k; do grep -q "key: '$k\[" "$tpl" || fail "template lacks an item for $k"; done <"$Z/keys"
if python3 -c 'import yaml' 2>/dev/null; then
	python3 -c 'import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); assert d["zabbix_export"]["version"] == "6.0"' "$tpl" ||
		fail "$tpl is not a Zabbix 6.0 export"
	echo "$tpl parses as YAML"
fi

# --- 4. Icinga 2 end to end ---------------------------------------------------
say "Icinga 2 end to end: private daemon, API on 127.0.0.1:15665, checks against Postfix"
node=ci.smtpcheck.test
certs="$I/data/certs"
mkdir -p "$certs"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$certs/ca.key" -out "$certs/ca.crt" -days 2 \
	-subj "/CN=smtpcheck CI Icinga CA" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout "$certs/$node.key" -out "$certs/$node.csr" -subj "/CN=$node" 2>/dev/null
openssl x509 -req -in "$certs/$node.csr" -CA "$certs/ca.crt" -CAkey "$certs/ca.key" -CAcreateserial \
	-out "$certs/$node.crt" -days 2 2>/dev/null
apipw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
{
	echo 'object Endpoint NodeName { }'
	echo 'object Zone ZoneName { endpoints = [ NodeName ] }'
	echo 'object CheckerComponent "checker" { }'
	echo 'object ApiListener "api" {'
	echo '	bind_host = "127.0.0.1"'
	echo '	bind_port = 15665'
	echo '}'
	echo 'object ApiUser "root" {'
	echo "	password = \"$apipw\""
	echo '	permissions = [ "*" ]'
	echo '}'
} >>"$I/icinga2.conf"
icinga_check "$I/icinga2.conf"
icinga2 daemon -c "$I/icinga2.conf" "${icinga_defs[@]}" >"$I/daemon.log" 2>&1 &
icinga_pid=$!
api() { curl -sS -k --max-time 10 -u "root:$apipw" -H 'Accept: application/json' "$@"; }
up=0
for _ in $(seq 100); do
	if ! kill -0 "$icinga_pid" 2>/dev/null; then
		tail -30 "$I/daemon.log"
		fail "icinga2 exited"
	fi
	if api https://127.0.0.1:15665/v1/status/IcingaApplication >/dev/null 2>&1; then
		up=1
		break
	fi
	sleep 0.3
done
if [ "$up" != 1 ]; then
	tail -30 "$I/daemon.log"
	fail "Icinga 2 API did not come up"
fi
echo "icinga2 running (pid $icinga_pid), API up"

since=$(date +%s)
api -X POST https://127.0.0.1:15665/v1/actions/reschedule-check \
	-d '{"type":"Service","filter":"match(\"*\", service.name)","force":true}' | jq -r '.results[].status'
# Wait until every service has a result newer than the reschedule.
fresh=0
total=0
res=""
for _ in $(seq 60); do
	res=$(api "https://127.0.0.1:15665/v1/objects/services?attrs=state&attrs=last_check_result&attrs=host_name")
	fresh=$(jq "[.results[] | select(.attrs.last_check_result != null and .attrs.last_check_result.execution_end >= $since)] | length" <<<"$res")
	total=$(jq '.results | length' <<<"$res")
	if [ "$fresh" = "$total" ] && [ "$total" -gt 0 ]; then break; fi
	sleep 0.5
done
if [ "$total" -eq 0 ] || [ "$fresh" != "$total" ]; then fail "only $fresh of $total services got a fresh check result"; fi
jq -r '.results[] | "\(.name): state \(.attrs.state), exit \(.attrs.last_check_result.exit_status)\n  command:  \(.attrs.last_check_result.command | join(" "))\n  output:   \(.attrs.last_check_result.output | split("\n")[0])\n  perfdata: \(.attrs.last_check_result.performance_data | join(" "))"' <<<"$res"

svc() { jq -c --arg n "$1" '.results[] | select(.name == $n) | .attrs' <<<"$res"; }
want_state() { # SERVICE STATE OUTPUT_PREFIX
	local a
	a=$(svc "$1")
	[ -n "$a" ] || fail "no service $1"
	[ "$(jq .state <<<"$a")" = "$2" ] || fail "$1: state $(jq .state <<<"$a"), want $2: $(jq -r .last_check_result.output <<<"$a" | head -1)"
	[ "$(jq .last_check_result.exit_status <<<"$a")" = "$2" ] || fail "$1: exit status is not $2"
	jq -r .last_check_result.output <<<"$a" | head -1 | grep -q "^$3" || fail "$1: output does not start with '$3'"
}
want_state 'mail!smtp' 0 'SMTP OK - 127.0.0.1:25 answered'
want_state 'mail!smtp-submission' 0 'SMTP OK - 127.0.0.1:587'
want_state 'mail!smtps' 0 'SMTP OK - 127.0.0.1:465'
want_state 'mail!smtp-cert' 0 'SMTP TLS OK'
want_state 'mail!smtp-login' 0 'SMTP AUTH OK - 127.0.0.1:587 accepted'
want_state 'expired!smtp' 0 'SMTP OK - 127.0.0.2:25'
want_state 'expired!smtp-cert' 2 'SMTP TLS CRITICAL'
# An IP address as -H and a certificate without it: verified for the host's name.
dns="$SMTPCHECK_POSTFIX_HOSTNAME"
ip="$SMTPCHECK_POSTFIX_DNSONLY"
want_state "$dns!smtp" 0 "SMTP OK - $ip:25 answered"
want_state "$dns!smtp-submission" 0 "SMTP OK - $ip:587"
want_state "$dns!smtp-cert" 0 "SMTP TLS OK - $ip:25: TLSv1.[23] via STARTTLS, chain verified for $dns"
want_state "$dns!smtp-login" 0 "SMTP AUTH OK - $ip:587 accepted $SMTPCHECK_POSTFIX_USER"
want_state "$dns!smtp-login-env" 0 "SMTP AUTH OK - $ip:587 accepted $SMTPCHECK_POSTFIX_USER"
command_of() { jq -r '.last_check_result.command | join(" ")' <<<"$(svc "$1")"; }
for s in smtp-cert smtp-login; do
	grep -qE -- "(^| )--sni-name=$dns( |\$)" <<<"$(command_of "$dns!$s")" ||
		fail "$dns!$s: no --sni-name=$dns: $(command_of "$dns!$s")"
done
# A host name that is not a DNS name (mail) sends none: 127.0.0.1 is verified.
if grep -q -- --sni-name <<<"$(command_of 'mail!smtp-cert')"; then fail "mail!smtp-cert: --sni-name for a host named mail"; fi
# The env variable carries the password; the command line only its reference.
if grep -qF -- "$(cat "$SMTPCHECK_POSTFIX_PASSWORD_FILE")" <<<"$(command_of "$dns!smtp-login-env")"; then
	fail "$dns!smtp-login-env: the password is on the command line"
fi
grep -q -- '--password-ref=env:SMTPCHECK_PASSWORD' <<<"$(command_of "$dns!smtp-login-env")" || fail "smtp-login-env: no env: reference"

# The smtp service: STARTTLS, -H from $check_address$, thresholds and phase
# thresholds as --long=value, and the perfdata labels carrying them.
a=$(svc 'mail!smtp')
cmd=$(jq -r '.last_check_result.command | join(" ")' <<<"$a")
for arg in "$REPO/bin/check_smtp_conn" --hostname=127.0.0.1 --starttls --warning=2 --critical=5 \
	--phase-warning=banner:1 --phase-warning=starttls:1 --timeout=10; do
	grep -qE -- "(^| )$arg( |\$)" <<<"$cmd" || fail "smtp command line lacks $arg: $cmd"
done
perf=$(jq -r '.last_check_result.performance_data[]' <<<"$a")
for label in dns connect banner ehlo starttls ehlo_tls quit total time; do
	grep -q "^$label=[0-9.e-]*s;" <<<"$perf" || fail "smtp perfdata lacks $label: $perf"
done
grep -q '^total=[0-9.e-]*s;2;5;0;' <<<"$perf" || fail "smtp total perfdata lacks ;2;5;0: $perf"
grep -q '^banner=[0-9.e-]*s;1;;0;' <<<"$perf" || fail "smtp banner perfdata lacks the phase warning: $perf"
jq -r '.last_check_result.performance_data[]' <<<"$(svc 'mail!smtp-cert')" | grep -q '^chain_min_days=[0-9]*;30:;14:' ||
	fail "smtp-cert perfdata lacks chain_min_days;30:;14:"

say "stop Icinga 2"
kill "$icinga_pid"
for _ in $(seq 50); do
	kill -0 "$icinga_pid" 2>/dev/null || break
	sleep 0.2
done
if kill -0 "$icinga_pid" 2>/dev/null; then fail "icinga2 (pid $icinga_pid) did not stop"; fi
wait "$icinga_pid" 2>/dev/null || true
icinga_pid=""
if grep -E 'critical/' "$I/daemon.log"; then fail "icinga2 logged critical errors"; fi

say "60-engines: ok"
