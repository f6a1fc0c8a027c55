#!/usr/bin/env bash
# check_smtp_auth, the built binary, against the real Postfix + Dovecot that
# .ci/run started (its env is exported): every mechanism Dovecot offers on
# 587 (STARTTLS) and 465 (implicit TLS), a wrong password, the plaintext
# refusal, and no trace of the password at -vvv or in JSON.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${SMTPCHECK_POSTFIX_CA:?needs the env of .ci/mailserver.sh start}"
bin=bin/check_smtp_auth
[ -x "$bin" ] || CGO_ENABLED=0 go build -trimpath -o "$bin" ./plugins/check_smtp_auth

pass=$(cat "$SMTPCHECK_POSTFIX_PASSWORD_FILE")
b64=$(printf '%s' "$pass" | base64 -w0)
plain_ir=$(printf '\0%s\0%s' "$SMTPCHECK_POSTFIX_USER" "$pass" | base64 -w0)
wrong=$(mktemp)
trap 'rm -f "$wrong"' EXIT
chmod 600 "$wrong"
echo "wrong-$pass" >"$wrong"
fail=0

# expect CODE ARGS...: run the plugin, compare its exit code, scan its output.
expect() {
	local want=$1 out code
	shift
	set +e
	out=$("$bin" -t 10 --ca-file "$SMTPCHECK_POSTFIX_CA" --verify-name "$SMTPCHECK_POSTFIX_HOSTNAME" \
		--user "$SMTPCHECK_POSTFIX_USER" "$@" 2>&1)
	code=$?
	set -e
	printf '[exit %s] %s\n' "$code" "$(head -n1 <<<"$out")"
	if [ "$code" != "$want" ]; then
		echo "  FAIL: want exit $want for: $*"
		fail=1
	fi
	if grep -qF -e "$pass" -e "$b64" -e "$plain_ir" <<<"$out"; then
		echo "  FAIL: the password (or its base64) is in the output of: $*"
		fail=1
	fi
}

ok="--password-ref file:$SMTPCHECK_POSTFIX_PASSWORD_FILE"
for port in 587 465; do
	for mech in auto PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256; do
		# shellcheck disable=SC2086
		expect 0 -H 127.0.0.1 -p "$port" --mech "$mech" $ok -vvv
	done
	expect 2 -H 127.0.0.1 -p "$port" --mech PLAIN --password-ref "file:$wrong" -vvv
	expect 0 -H 127.0.0.1 -p "$port" --mech LOGIN --password-ref "file:$wrong" --expect-fail --output json -vvv
done
# shellcheck disable=SC2086
expect 3 -H 127.0.0.1 -p 587 --no-tls $ok
# shellcheck disable=SC2086
expect 0 -H 127.0.0.1 -p 587 -S -A LOGIN -U "$SMTPCHECK_POSTFIX_USER" -P "$pass" -vvv
[ "$fail" = 0 ] || exit 1

# Wall time against check_smtp -A LOGIN on the same server: a short run for
# the record (the table is informative; it fails only when ours fails).
go run ./contrib/bench -mode auth -plugin "$bin" -target "${SMTPCHECK_POSTFIX_SUBMISSION:-127.0.0.1:587}" \
	-ca "$SMTPCHECK_POSTFIX_CA" -name "$SMTPCHECK_POSTFIX_HOSTNAME" -user "$SMTPCHECK_POSTFIX_USER" \
	-password-file "$SMTPCHECK_POSTFIX_PASSWORD_FILE" -n 100 -warmup 10
