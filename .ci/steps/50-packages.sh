#!/usr/bin/env bash
# CI step: build the .deb and .rpm (packaging/build.sh = make package), install
# the .deb, run every installed plugin (--version and against the embedded lab
# server), render the man pages, remove and purge, and inspect the .rpm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PLUGDIR=/usr/lib/nagios/plugins
fail() { echo "50-packages: FAIL: $*" >&2; exit 1; }
say() { echo "--- $*"; }

# check_userparameters FILE LISTING: every UserParameter in FILE runs a
# program that LISTING (the package's file list) holds.
check_userparameters() {
	local cmds n=0
	cmds=$(sed -n 's/^UserParameter=[^,]*,\([^ ]*\).*/\1/p' "$1")
	[ -n "$cmds" ] || fail "$1: no UserParameter"
	for c in $cmds; do
		grep -qx "$c" <<<"$2" || fail "$1 calls $c, which the package does not install"
		n=$((n + 1))
	done
	echo "ok: $n UserParameters call installed plugins"
}

say "build packages"
rm -f dist/*.deb dist/*.rpm
bash packaging/build.sh
deb=$(ls dist/smtpcheck_*.deb)
rpmf=$(ls dist/smtpcheck-*.rpm)
version=$(dpkg-deb -f "$deb" Version)
version=${version%-*}
plugins=$(cd bin && ls check_smtp_*)
say "package sizes"
for f in "$deb" "$rpmf"; do printf '%10d bytes  %s\n' "$(stat -c %s "$f")" "$f"; done
du -h "$deb" "$rpmf"

# Errors and warnings fail; packaging/lintian-overrides (installed with the
# package) says, with reasons, what does not apply to static Go binaries.
say "lintian $deb"
lintian --fail-on error,warning --no-tag-display-limit "$deb" || fail "lintian flags $deb (fix it, or override it with a reason in packaging/lintian-overrides)"

say "dpkg -i $deb"
dpkg -i "$deb"
dpkg -s smtpcheck | grep -E '^(Status|Version)'

say "--version of every installed plugin (exit 3, \"NAME $version\")"
for p in $plugins; do
	[ -x "$PLUGDIR/$p" ] || fail "$PLUGDIR/$p not installed"
	set +e
	out=$("$PLUGDIR/$p" --version)
	rc=$?
	set -e
	echo "$out (exit $rc)"
	[ "$rc" = 3 ] || fail "$p --version exited $rc, want 3"
	[ "$out" = "$p $version" ] || fail "$p --version printed '$out', want '$p $version'"
done

say "--version of the installed helper (exit 0)"
out=$("$PLUGDIR/smtpcheck-secret" --version) || fail "smtpcheck-secret --version exited $?"
[ "$out" = "smtpcheck-secret $version" ] || fail "smtpcheck-secret --version printed '$out', want 'smtpcheck-secret $version'"
echo "$out"
out=$("$PLUGDIR/smtpcheck-secret-cloud" --version) || fail "smtpcheck-secret-cloud --version exited $?"
[ "$out" = "smtpcheck-secret-cloud $version" ] || fail "smtpcheck-secret-cloud --version printed '$out', want 'smtpcheck-secret-cloud $version'"
echo "$out"

say "installed plugins against the embedded lab server"
lab=$(mktemp -d)
bin/smtpcheck-lab -dir "$lab" 2>"$lab/lab.log" &
labpid=$!
cleanup() { kill "$labpid" 2>/dev/null || true; wait "$labpid" 2>/dev/null || true; rm -rf "$lab"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -f "$lab/lab.env" ] && break; sleep 0.1; done
[ -f "$lab/lab.env" ] || { cat "$lab/lab.log"; fail "lab server did not start"; }
# shellcheck disable=SC1091
. "$lab/lab.env"
for p in $plugins; do
	case $p in
	check_smtp_conn) args=(-H 127.0.0.1 -p "$LAB_PLAIN_PORT" -S); status="SMTP OK - " ;;
	check_smtp_tls) args=(-H 127.0.0.1 -p "$LAB_PLAIN_PORT" --ca-file "$LAB_CA" --verify-name mx.lab.test); status="SMTP TLS OK - " ;;
	check_smtp_auth) args=(-H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" -S --ca-file "$LAB_CA" --verify-name mx.lab.test --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE"); status="SMTP AUTH OK - " ;;
	check_smtp_delivery) args=(-H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE"
		--from monitor@lab.test --to "$LAB_ADDRESS" --imap-host 127.0.0.1 --imap-port "$LAB_IMAPS_PORT" --imap-user "$LAB_USER"
		--imap-password-ref "file:$LAB_PASSWORD_FILE" --state-dir "$lab/state"); status="SMTP DELIVERY OK - " ;;
	# The lab takes every recipient: open_relay is inconclusive there, made OK here.
	check_smtp_security) args=(-H 127.0.0.1 -p "$LAB_PLAIN_PORT" --ca-file "$LAB_CA" --verify-name mx.lab.test --state open_relay=ok); status="SMTP SECURITY OK - " ;;
	# A short load: 200 messages, 4 sessions, to an address the lab discards.
	check_smtp_load) args=(-H 127.0.0.1 -p "$LAB_PLAIN_PORT" --to sink@lab.test --sessions 4 --messages 200); status="SMTP LOAD OK - " ;;
	*) fail "no lab run for $p: add a case to .ci/steps/50-packages.sh" ;;
	esac
	set +e
	out=$("$PLUGDIR/$p" "${args[@]}")
	rc=$?
	set -e
	echo "\$ $p ${args[*]}"
	echo "$out" | head -3
	echo "[exit $rc]"
	[ "$rc" = 0 ] || fail "$p against the lab exited $rc"
	case $(head -1 <<<"$out") in
	"$status"*) ;;
	*) fail "$p: first line does not start with '$status'" ;;
	esac
done

# The installed check_smtp_auth finds the installed helper beside it for a
# keyring: reference (kernel keyring, provisioned with keyutils' CLI).
say "check_smtp_auth with a keyring: reference through $PLUGDIR/smtpcheck-secret"
[ -x "$PLUGDIR/smtpcheck-secret" ] || fail "$PLUGDIR/smtpcheck-secret not installed"
ring=$(keyctl newring "smtpcheck-ci-$$" @u)
keyctl padd user relay "$ring" <"$LAB_PASSWORD_FILE" >/dev/null
set +e
out=$("$PLUGDIR/check_smtp_auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" -S --ca-file "$LAB_CA" --verify-name mx.lab.test \
	--user "$LAB_USER" --password-ref "keyring:smtpcheck-ci-$$/relay" --keyring-backend keyctl)
rc=$?
set -e
keyctl unlink "$ring" @u >/dev/null
echo "$out" | head -1
echo "[exit $rc]"
[ "$rc" = 0 ] || fail "check_smtp_auth with a keyring: reference exited $rc"
cleanup
trap - EXIT

say "man -l every installed page"
pages=$(dpkg -L smtpcheck | grep '^/usr/share/man/man1/.*\.1\.gz$')
[ "$(wc -l <<<"$pages")" = "$(($(wc -w <<<"$plugins") + 3))" ] || fail "want one man page per plugin, one each for smtpcheck-secret, smtpcheck-secret-cloud and smtpcheck-health, got: $pages"
for m in $pages; do
	err=$(MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
	[ -z "$err" ] || fail "man -l $m: $err"
	want=--hostname
	[ "$(basename "$m")" = smtpcheck-secret.1.gz ] && want=check_smtp_auth
	[ "$(basename "$m")" = smtpcheck-secret-cloud.1.gz ] && want=azure-kv:
	[ "$(basename "$m")" = smtpcheck-health.1.gz ] && want=--max-age
	MANWIDTH=80 man -l "$m" 2>/dev/null | grep -q -- "$want" || fail "$m does not mention $want"
	echo "ok $m"
done

say "Zabbix UserParameters in the .deb"
check_userparameters /usr/share/doc/smtpcheck/examples/zabbix/userparameter_smtpcheck.conf "$(dpkg -L smtpcheck)"

say "installed config files"
test -f /usr/share/icinga2/include/plugins-contrib.d/smtpcheck.conf || fail "no Icinga 2 CheckCommands"
for p in $plugins; do
	test -f "/etc/nagios-plugins/config/$p.cfg" || fail "no /etc/nagios-plugins/config/$p.cfg"
done
dpkg-query -W -f='${Conffiles}\n' smtpcheck

say "dpkg -r smtpcheck: nothing but the conffiles may stay"
installed=$(dpkg -L smtpcheck)
dpkg -r smtpcheck
# Every file the package installed must be gone (other packages may own
# check_smtp_* plugins of their own, e.g. check_smtp_send: those stay).
left=""
for f in $installed; do
	case $f in /etc/nagios-plugins/config/* | /etc/smtpcheck/*) continue ;; esac
	[ -f "$f" ] && left="$left $f"
done
[ -z "$left" ] || fail "left after dpkg -r:$left"
for p in $plugins; do [ ! -e "$PLUGDIR/$p" ] || fail "$PLUGDIR/$p left after dpkg -r"; done
[ ! -e "$PLUGDIR/smtpcheck-secret" ] || fail "$PLUGDIR/smtpcheck-secret left after dpkg -r"
[ ! -e "$PLUGDIR/smtpcheck-secret-cloud" ] || fail "$PLUGDIR/smtpcheck-secret-cloud left after dpkg -r"
[ ! -e /usr/share/icinga2/include/plugins-contrib.d/smtpcheck.conf ] || fail "Icinga 2 config left after dpkg -r"
[ ! -e /usr/share/doc/smtpcheck ] || fail "/usr/share/doc/smtpcheck left after dpkg -r"
for m in $pages; do [ ! -e "$m" ] || fail "$m left after dpkg -r"; done
dpkg -s smtpcheck 2>/dev/null | grep -q '^Status: deinstall ok config-files' || fail "want state config-files after dpkg -r"
for p in $plugins; do test -f "/etc/nagios-plugins/config/$p.cfg" || fail "conffile $p.cfg gone after dpkg -r (want it kept until purge)"; done

say "dpkg -P smtpcheck: conffiles gone too"
dpkg -P smtpcheck
for p in $plugins; do [ ! -e "/etc/nagios-plugins/config/$p.cfg" ] || fail "/etc/nagios-plugins/config/$p.cfg left after purge"; done
if dpkg -L smtpcheck >/dev/null 2>&1; then fail "dpkg -L still knows smtpcheck"; fi
dpkgl=$(dpkg -L smtpcheck 2>&1 || true)
grep -q "is not installed" <<<"$dpkgl" || fail "dpkg -L does not say 'not installed': $dpkgl"
echo "dpkg -L: $(head -1 <<<"$dpkgl")"

say "rpm -qpl / -qpi $rpmf"
rpml=$(rpm -qpl "$rpmf" 2>/dev/null)
echo "$rpml"
for p in $plugins; do
	grep -qx "/usr/lib64/nagios/plugins/$p" <<<"$rpml" || fail "rpm lacks /usr/lib64/nagios/plugins/$p"
	grep -qx "/usr/share/man/man1/$p.1.gz" <<<"$rpml" || fail "rpm lacks the man page of $p"
done
grep -qx /usr/lib64/nagios/plugins/smtpcheck-secret <<<"$rpml" || fail "rpm lacks the helper smtpcheck-secret"
grep -qx /usr/lib64/nagios/plugins/smtpcheck-secret-cloud <<<"$rpml" || fail "rpm lacks the helper smtpcheck-secret-cloud"
grep -qx /usr/share/icinga2/include/plugins-contrib.d/smtpcheck.conf <<<"$rpml" || fail "rpm lacks the Icinga 2 config"
rpmi=$(rpm -qpi "$rpmf" 2>/dev/null)
echo "$rpmi" | grep -E '^(Name|Version|License|URL)'
grep -Eq '^License *: MIT$' <<<"$rpmi" || fail "rpm license is not MIT"
grep -Eq '^URL *: https://github.com/smtpcheck/smtpcheck$' <<<"$rpmi" || fail "rpm URL is not the homepage"
rpm -qp --qf '%{VERSION}\n' "$rpmf" 2>/dev/null | grep -qx "$version" || fail "rpm version is not $version"
summary=$(rpm -qp --qf '%{SUMMARY}' "$rpmf" 2>/dev/null)
description=$(rpm -qp --qf '%{DESCRIPTION}' "$rpmf" 2>/dev/null)
[ "$(head -1 <<<"$description")" != "$summary" ] || fail "rpm description repeats its summary"

# Each package's Zabbix UserParameters call the plugins where that package
# installs them (the .deb's were checked against dpkg -L above).
say "Zabbix UserParameters in the .rpm"
x=$(mktemp -d)
# Debian 12's rpm2cpio (rpm 4.18) exits 1 even after writing the whole
# archive: cpio, which fails on a truncated one, is the check.
rpm2cpio "$rpmf" >"$x/rpm.cpio" || true
# The archive holds absolute paths: without --no-absolute-filenames cpio
# would write into /.
(cd "$x" && cpio -idm --quiet --no-absolute-filenames <rpm.cpio)
up="$x/usr/share/doc/smtpcheck/examples/zabbix/userparameter_smtpcheck.conf"
[ -f "$up" ] || fail "rpm lacks the Zabbix UserParameters"
check_userparameters "$up" "$rpml"
rm -rf "$x"

say "50-packages: ok"
