#!/usr/bin/env bash
# CI step: import contrib/zabbix/template_smtpcheck.yaml into a real Zabbix 6.0
# (Debian 12's zabbix-frontend-php + zabbix-server-pgsql schema) through the
# frontend's JSON-RPC API, and check that what Zabbix stored matches the file.
#   1. private PostgreSQL cluster (initdb under /tmp, 127.0.0.1 only, a free
#      port), database "zabbix" loaded from /usr/share/zabbix-server-pgsql
#      (schema, images, data)
#   2. the frontend served by PHP's built-in server on 127.0.0.1; its config
#      file path is compiled in (/etc/zabbix/zabbix.conf.php), so the server
#      runs in a private mount namespace with a temp dir bound over
#      /etc/zabbix (nothing under /etc is written; without unshare the file is
#      written there and removed again, never overwriting an existing one)
#   3. user.login, configuration.import (twice: create, then update must be a
#      no-op), template.get / item.get / trigger.get, compared with the file
#      (parsed by the frontend's own Symfony YAML, independently of the API)
# zabbix_server is not needed: configuration.import only talks to the DB.
# Everything is torn down on exit (trap): PHP server, PostgreSQL, temp files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO=$(pwd)
TEMPLATE_FILE="${SMTPCHECK_ZBX_TEMPLATE:-$REPO/contrib/zabbix/template_smtpcheck.yaml}"

T0=$(date +%s)
fail() {
	echo "70-zabbix-import: FAIL: $*" >&2
	exit 1
}
say() { printf -- '--- [%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (runs PostgreSQL as the postgres user)"
[ -f "$TEMPLATE_FILE" ] || fail "$TEMPLATE_FILE missing"
ZBX_SQL=/usr/share/zabbix-server-pgsql
ZBX_WEB=/usr/share/zabbix
for f in "$ZBX_SQL/schema.sql.gz" "$ZBX_SQL/images.sql.gz" "$ZBX_SQL/data.sql.gz" "$ZBX_WEB/api_jsonrpc.php"; do
	[ -f "$f" ] || fail "$f missing (.ci/packages.d/zabbix-import.txt: zabbix-server-pgsql, zabbix-frontend-php)"
done
for b in php curl jq runuser ss od zcat; do
	command -v "$b" >/dev/null || fail "$b missing (.ci/packages.d/zabbix-import.txt)"
done
php -m | grep -qx pgsql || fail "PHP has no pgsql extension (php-pgsql)"
PGBIN=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] || fail "no PostgreSQL server binaries under /usr/lib/postgresql (postgresql)"
[ -x "$PGBIN/initdb" ] || fail "no PostgreSQL server binaries under /usr/lib/postgresql (postgresql)"
getent passwd postgres >/dev/null || fail "no postgres user (postgresql)"
zbx_version=$(sed -n "s/.*define('ZABBIX_VERSION',[[:space:]]*'\([^']*\)').*/\1/p" "$ZBX_WEB/include/defines.inc.php")
say "Zabbix frontend $zbx_version, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}'), $(php -r 'echo "PHP ", PHP_VERSION;')"
case "$zbx_version" in
6.0.*) ;;
*) fail "expected Zabbix 6.0.x (the template is a 6.0 export and the import rules are 6.0's), got '$zbx_version'" ;;
esac

free_port() { # START: first TCP port >= START that nothing listens on
	local p=$1
	while ss -Htln "sport = :$p" | grep -q .; do
		p=$((p + 1))
		[ "$p" -lt $(($1 + 200)) ] || fail "no free port near $1"
	done
	echo "$p"
}

T=$(mktemp -d /tmp/smtpcheck-zabbix.XXXXXX)
[ -d "$T" ] || fail "mktemp"
chmod 755 "$T" # the postgres user must reach $T/pg
PGDATA="$T/pg/data"
PGSOCK="$T/pg/sock"
php_pid=""
etc_conf_written=""
pg_started=""
cleanup() {
	local rc=$?
	set +e
	if [ -n "$php_pid" ] && kill -0 "$php_pid" 2>/dev/null; then
		kill "$php_pid" 2>/dev/null
		for _ in $(seq 50); do
			kill -0 "$php_pid" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$php_pid" 2>/dev/null
	fi
	if [ -n "$pg_started" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop >/dev/null 2>&1 ||
			runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1
	fi
	if [ -n "$etc_conf_written" ]; then
		rm -f /etc/zabbix/zabbix.conf.php
	fi
	if [ "$rc" != 0 ]; then
		for l in "$T/pg/postgres.log" "$T/php.log"; do
			[ -s "$l" ] && { echo "=== tail $l" >&2; tail -20 "$l" >&2; }
		done
	fi
	rm -rf "$T"
	say "cleaned up (exit $rc)"
	return "$rc"
}
trap cleanup EXIT
trap "exit 130" INT TERM

# --- 1. private PostgreSQL ----------------------------------------------------
PGPORT=$(free_port "${SMTPCHECK_ZBX_PGPORT:-25432}")
say "initdb + start PostgreSQL on 127.0.0.1:$PGPORT (data in $PGDATA)"
mkdir -p "$PGDATA" "$PGSOCK"
chown -R postgres:postgres "$T/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
	--auth-local=trust --auth-host=scram-sha-256 >"$T/pg/initdb.log" 2>&1 ||
	{ tail -20 "$T/pg/initdb.log" >&2; fail "initdb"; }
cat >>"$PGDATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PGPORT
unix_socket_directories = '$PGSOCK'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
pg_started=1
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$T/pg/postgres.log" -w -t 60 start >/dev/null ||
	fail "PostgreSQL did not start within 60s"
psql_su() { runuser -u postgres -- "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGSOCK" -p "$PGPORT" -U postgres "$@"; }
DBPASS=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
psql_su -d postgres -c "CREATE ROLE zabbix LOGIN PASSWORD '$DBPASS'" -c "CREATE DATABASE zabbix OWNER zabbix ENCODING 'UTF8' TEMPLATE template0"
t=$(date +%s)
for s in schema images data; do
	zcat "$ZBX_SQL/$s.sql.gz" | runuser -u postgres -- "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 \
		-h "$PGSOCK" -p "$PGPORT" -U zabbix -d zabbix >"$T/pg/load-$s.log" 2>&1 ||
		{ tail -20 "$T/pg/load-$s.log" >&2; fail "loading $ZBX_SQL/$s.sql.gz"; }
done
dbversion=$(psql_su -d zabbix -tAc 'SELECT mandatory FROM dbversion')
say "loaded schema + images + data in $(($(date +%s) - t))s (dbversion.mandatory=$dbversion)"

# --- 2. the frontend on PHP's built-in server -----------------------------------
mkdir -p "$T/etc-zabbix"
cat >"$T/etc-zabbix/zabbix.conf.php" <<EOF
<?php
// smtpcheck CI: private DB of .ci/steps/70-zabbix-import.sh
\$DB['TYPE']     = 'POSTGRESQL';
\$DB['SERVER']   = '127.0.0.1';
\$DB['PORT']     = '$PGPORT';
\$DB['DATABASE'] = 'zabbix';
\$DB['USER']     = 'zabbix';
\$DB['PASSWORD'] = '$DBPASS';
\$DB['SCHEMA']   = '';
\$DB['ENCRYPTION'] = false;
\$DB['DOUBLE_IEEE754'] = true;
// No zabbix_server runs: should the frontend try one, it gets a refused loopback port.
\$ZBX_SERVER      = '127.0.0.1';
\$ZBX_SERVER_PORT = '1';
\$ZBX_SERVER_NAME = 'smtpcheck-ci';
\$IMAGE_FORMAT_DEFAULT = IMAGE_FORMAT_PNG;
EOF
chmod 644 "$T/etc-zabbix/zabbix.conf.php"
HTTPPORT=$(free_port "${SMTPCHECK_ZBX_HTTPPORT:-28080}")
php_cmd=(php -d memory_limit=512M -d max_execution_time=300 -d post_max_size=16M -d display_errors=stderr
	-S "127.0.0.1:$HTTPPORT" -t "$ZBX_WEB")
if unshare -m true 2>/dev/null; then
	say "PHP built-in server on 127.0.0.1:$HTTPPORT, /etc/zabbix bound to $T/etc-zabbix in a private mount namespace"
	# unshare -m makes the new namespace's mounts private: the bind never shows outside.
	# shellcheck disable=SC2016 # $1/$@ are the inner sh's arguments
	unshare -m sh -c 'mount --bind "$1" /etc/zabbix && shift && exec "$@"' sh "$T/etc-zabbix" "${php_cmd[@]}" \
		>"$T/php.log" 2>&1 &
	php_pid=$!
else
	[ ! -e /etc/zabbix/zabbix.conf.php ] || fail "no unshare, and /etc/zabbix/zabbix.conf.php exists (not overwriting it)"
	say "PHP built-in server on 127.0.0.1:$HTTPPORT, writing /etc/zabbix/zabbix.conf.php (no unshare; removed on exit)"
	mkdir -p /etc/zabbix
	etc_conf_written=1
	cp "$T/etc-zabbix/zabbix.conf.php" /etc/zabbix/zabbix.conf.php
	"${php_cmd[@]}" >"$T/php.log" 2>&1 &
	php_pid=$!
fi
API="http://127.0.0.1:$HTTPPORT/api_jsonrpc.php"
AUTH=null
rpc() { # METHOD PARAMS-JSON: print the whole JSON-RPC response
	local rpc_id # callers run in $(...): keep the counter in a file
	rpc_id=$(($(cat "$T/rpc_id" 2>/dev/null || echo 0) + 1))
	echo "$rpc_id" >"$T/rpc_id"
	jq -nc --arg m "$1" --argjson p "$2" --argjson a "$AUTH" --argjson i "$rpc_id" \
		'{jsonrpc: "2.0", method: $m, params: $p, id: $i} + (if $a == null then {} else {auth: $a} end)' |
		curl -sS --max-time 60 -H 'Content-Type: application/json-rpc' --data-binary @- "$API"
}
result() { # METHOD PARAMS-JSON: print .result, fail on an error response
	local out
	out=$(rpc "$1" "$2") || fail "$1: HTTP request failed"
	if ! jq -e 'has("result")' <<<"$out" >/dev/null 2>&1; then
		echo "$out" | head -c 2000 >&2
		echo >&2
		fail "$1 returned no result"
	fi
	jq -c '.result' <<<"$out"
}
ok=""
for _ in $(seq 120); do
	kill -0 "$php_pid" 2>/dev/null || fail "PHP built-in server exited"
	if v=$(rpc apiinfo.version '[]' 2>/dev/null) && jq -e '.result' <<<"$v" >/dev/null 2>&1; then
		ok=1
		break
	fi
	sleep 0.5
done
[ -n "$ok" ] || fail "API did not answer within 60s (last: ${v:-nothing})"
say "apiinfo.version -> $(jq -c .result <<<"$v")"

# --- 3. login, import, compare ----------------------------------------------------
AUTH=$(result user.login '{"username":"Admin","password":"zabbix"}')
[ "$(jq -r 'type' <<<"$AUTH")" = string ] || fail "user.login: no session id ($AUTH)"
say "user.login Admin -> session ${AUTH:1:8}..."

# What the file holds, read by the frontend's bundled Symfony YAML parser.
# shellcheck disable=SC2016 # PHP code
want=$(php -r '
	require "'"$ZBX_WEB"'/vendor/autoload.php";
	$d = Symfony\Component\Yaml\Yaml::parseFile($argv[1])["zabbix_export"];
	$t = $d["templates"];
	$items = []; $trig = [];
	foreach ($t as $tp) {
		foreach ($tp["items"] ?? [] as $i) {
			$items[] = $i["key"];
			foreach ($i["triggers"] ?? [] as $tr) $trig[] = $tr["name"]."|".$tr["expression"];
		}
	}
	foreach ($d["triggers"] ?? [] as $tr) $trig[] = $tr["name"]."|".$tr["expression"];
	sort($items); sort($trig);
	echo json_encode([
		"version" => $d["version"],
		"templates" => array_map(fn($x) => $x["template"], $t),
		"items" => $items,
		"triggers" => $trig,
		"macros" => array_sum(array_map(fn($x) => count($x["macros"] ?? []), $t)),
		"valuemaps" => array_sum(array_map(fn($x) => count($x["valuemaps"] ?? []), $t)),
		"discovery_rules" => array_sum(array_map(fn($x) => count($x["discovery_rules"] ?? []), $t)),
		"graphs" => count($d["graphs"] ?? []),
	]);' "$TEMPLATE_FILE") || fail "cannot parse $TEMPLATE_FILE as YAML"
[ "$(jq -r .version <<<"$want")" = 6.0 ] || fail "template export version is $(jq -r .version <<<"$want"), not 6.0"
[ "$(jq '.templates | length' <<<"$want")" = 1 ] || fail "expected exactly one template in the file: $(jq -c .templates <<<"$want")"
TNAME=$(jq -r '.templates[0]' <<<"$want")
say "file: template '$TNAME', $(jq '.items|length' <<<"$want") items, $(jq '.triggers|length' <<<"$want") triggers, $(jq .macros <<<"$want") macros, $(jq .valuemaps <<<"$want") value maps, $(jq .discovery_rules <<<"$want") LLD rules, $(jq .graphs <<<"$want") graphs"

rules='{
	"groups": {"createMissing": true, "updateExisting": true},
	"templates": {"createMissing": true, "updateExisting": true},
	"templateLinkage": {"createMissing": true},
	"templateDashboards": {"createMissing": true, "updateExisting": true},
	"items": {"createMissing": true, "updateExisting": true},
	"triggers": {"createMissing": true, "updateExisting": true},
	"discoveryRules": {"createMissing": true, "updateExisting": true},
	"graphs": {"createMissing": true, "updateExisting": true},
	"httptests": {"createMissing": true, "updateExisting": true},
	"valueMaps": {"createMissing": true, "updateExisting": true}
}'
import_params=$(jq -n --rawfile src "$TEMPLATE_FILE" --argjson rules "$rules" '{format: "yaml", source: $src, rules: $rules}')

[ "$(result template.get "$(jq -nc --arg n "$TNAME" '{output: ["templateid"], filter: {host: $n}}')")" = '[]' ] ||
	fail "template '$TNAME' already exists before the import"
t=$(date +%s)
r=$(result configuration.import "$import_params")
[ "$r" = true ] || fail "configuration.import returned $r"
say "configuration.import (create) -> $r in $(($(date +%s) - t))s"

check_stored() { # LABEL: compare what Zabbix stored with the file
	local tpl tid items triggers
	tpl=$(result template.get "$(jq -nc --arg n "$TNAME" '{output: ["templateid", "host", "name"], filter: {host: $n},
		selectGroups: ["name"], selectMacros: ["macro", "value"], selectValueMaps: ["name"],
		selectItems: "count", selectTriggers: "count", selectDiscoveries: "count", selectGraphs: "count"}')")
	[ "$(jq length <<<"$tpl")" = 1 ] || fail "$1: template.get '$TNAME' -> $tpl"
	tid=$(jq -r '.[0].templateid' <<<"$tpl")
	say "$1: template.get -> $(jq -c '.[0] | {templateid, name, groups: [.groups[].name], items, triggers, discoveries, graphs, macros: (.macros|length), valuemaps: [.valuemaps[].name]}' <<<"$tpl")"
	items=$(result item.get "$(jq -nc --arg t "$tid" '{templateids: [$t], output: ["key_", "type", "value_type", "master_itemid", "valuemapid"]}')")
	triggers=$(result trigger.get "$(jq -nc --arg t "$tid" '{templateids: [$t], output: ["description", "expression", "priority"], expandExpression: true}')")
	say "$1: item.get -> $(jq length <<<"$items") items ($(jq '[.[] | select(.type == "18")] | length' <<<"$items") dependent, $(jq '[.[] | select(.valuemapid != "0")] | length' <<<"$items") with a value map); trigger.get -> $(jq length <<<"$triggers") triggers"
	jq -e --argjson got "$(jq -c '[.[].key_] | sort' <<<"$items")" '.items == $got' <<<"$want" >/dev/null ||
		fail "$1: item keys differ: file $(jq -c .items <<<"$want") vs Zabbix $(jq -c '[.[].key_] | sort' <<<"$items")"
	jq -e --argjson got "$(jq -c '[.[] | .description + "|" + .expression] | sort' <<<"$triggers")" '.triggers == $got' <<<"$want" >/dev/null ||
		fail "$1: triggers differ: file $(jq -c .triggers <<<"$want") vs Zabbix $(jq -c '[.[] | .description + "|" + .expression] | sort' <<<"$triggers")"
	jq -e --argjson w "$want" '.[0] | (.items|tonumber) == ($w.items|length) and (.triggers|tonumber) == ($w.triggers|length)
		and (.macros|length) == $w.macros and (.valuemaps|length) == $w.valuemaps
		and (.discoveries|tonumber) == $w.discovery_rules and (.graphs|tonumber) == $w.graphs' <<<"$tpl" >/dev/null ||
		fail "$1: counts differ: file $want vs Zabbix $tpl"
	say "$1: OK: item keys, trigger names+expressions, macro/value map/LLD/graph counts match the file"
}
check_stored "after create"

# Re-importing the same file must succeed and change nothing (what an operator
# does when upgrading smtpcheck).
t=$(date +%s)
r=$(result configuration.import "$import_params")
[ "$r" = true ] || fail "configuration.import (update) returned $r"
say "configuration.import (update) -> $r in $(($(date +%s) - t))s"
check_stored "after re-import"

say "OK: $TEMPLATE_FILE imports into Zabbix $zbx_version"
