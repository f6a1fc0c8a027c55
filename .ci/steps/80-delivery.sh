#!/usr/bin/env bash
# check_smtp_delivery against the real Postfix + Dovecot that .ci/run started
# (its env is exported): check_email_delivery (monitoring-plugins-contrib)
# once on the same server for comparison, then a short run of
# `go run ./contrib/bench -mode delivery`: both submit on 587 (STARTTLS +
# AUTH) and find over IMAPS 993, interleaved; and the SMTP round trips of our
# submission vs swaks --pipeline. Informative: it fails only when our plugin
# fails (or leaves a probe behind), never on check_email_delivery or a target.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
: "${SMTPCHECK_POSTFIX_CA:?needs the env of .ci/mailserver.sh start}"
bin=bin/check_smtp_delivery
[ -x "$bin" ] || CGO_ENABLED=0 go build -trimpath -o "$bin" ./plugins/check_smtp_delivery

echo "-- check_email_delivery once (password on argv, as it requires; verifies TLS through SSL_CERT_FILE) --"
set +e
SSL_CERT_FILE=$SMTPCHECK_POSTFIX_CA /usr/bin/time -f "wall %e s, peak RSS %M KiB" \
	/usr/lib/nagios/plugins/check_email_delivery -H "$SMTPCHECK_POSTFIX_HOSTNAME" --smtp-port 587 --smtptls \
	--imap-port 993 --imapssl --username "$SMTPCHECK_POSTFIX_USER" --password "$(cat "$SMTPCHECK_POSTFIX_PASSWORD_FILE")" \
	--mailto "$SMTPCHECK_POSTFIX_USER" --mailfrom "$SMTPCHECK_POSTFIX_USER" --wait 1 --imap-check-interval 1 -t 30 2>&1 |
	sed "s/$(sed 's/[]\/$*.^[]/\\&/g' "$SMTPCHECK_POSTFIX_PASSWORD_FILE")/<redacted>/g"
echo "[exit ${PIPESTATUS[0]}]"
set -e

go run ./contrib/bench -mode delivery -plugin "$bin" -target "${SMTPCHECK_POSTFIX_SUBMISSION:-127.0.0.1:587}" \
	-imap "${SMTPCHECK_IMAPS_ADDR:-127.0.0.1:993}" -ca "$SMTPCHECK_POSTFIX_CA" -name "$SMTPCHECK_POSTFIX_HOSTNAME" \
	-user "$SMTPCHECK_POSTFIX_USER" -password-file "$SMTPCHECK_POSTFIX_PASSWORD_FILE" -n 5 -warmup 1

# Our probes clean up after themselves: none may be left in any folder.
left=$(grep -rl '^X-Smtpcheck-Probe:' "$SMTPCHECK_MAIL_DIR/mail/$SMTPCHECK_POSTFIX_USER" 2>/dev/null | grep -v '/tmp/' || true)
if [ -n "$left" ]; then
	echo "FAIL: probes left in the mailbox:"
	echo "$left"
	exit 1
fi
echo "mailbox holds no probe"
