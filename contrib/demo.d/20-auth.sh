# shellcheck shell=bash disable=SC2154
# check_smtp_auth against the lab (sourced by contrib/demo.sh: uses run, $bin, $LAB_*).
# The lab offers AUTH PLAIN and LOGIN after TLS; its certificate is for
# mx.lab.test, localhost and 127.0.0.1, issued by $LAB_CA.
auth="$bin/check_smtp_auth"
echo "== check_smtp_auth against the lab =="
echo
run "$auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE" -w 1 -c 2
run "$auth" -H 127.0.0.1 -p "$LAB_SMTPS_PORT" -s --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE" --mech LOGIN -v
SMTPCHECK_DEMO_PASSWORD=$(cat "$LAB_PASSWORD_FILE")
export SMTPCHECK_DEMO_PASSWORD
run "$auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref env:SMTPCHECK_DEMO_PASSWORD --output json
unset SMTPCHECK_DEMO_PASSWORD
# A keyring: reference is read by the helper smtpcheck-secret beside the plugin.
run "$auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref keyring:lab/relay \
	--keyring-backend file --keyring-dir "$LAB_KEYRING_DIR" --keyring-passphrase-ref "file:$LAB_KEYRING_PASSPHRASE_FILE"
echo "-- check_smtp_auth, failing variants --"
echo
demo_wrong=$(mktemp)
chmod 600 "$demo_wrong"
echo "not-the-password" >"$demo_wrong"
run "$auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref "file:$demo_wrong"
run "$auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref "file:$demo_wrong" --expect-fail
rm -f "$demo_wrong"
run "$auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE" --mech SCRAM-SHA-256
run "$auth" -H 127.0.0.1 -p "$LAB_SUBMISSION_PORT" --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE"
run "$auth" -H 127.0.0.1 -p "$LAB_PLAIN_PORT" --no-tls --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE"
