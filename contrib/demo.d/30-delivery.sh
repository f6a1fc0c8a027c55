# shellcheck shell=bash disable=SC2154
# check_smtp_delivery against the lab (sourced by contrib/demo.sh: uses run, $bin, $LAB_*).
# The lab's SMTP side files every message for $LAB_ADDRESS in the lab user's
# IMAP mailbox (IMAPS on $LAB_IMAPS_PORT, IMAP+STARTTLS on $LAB_IMAP_PORT);
# mail to $LAB_USER+junk@lab.test (or with "[junk]" in the Subject, or a
# header X-Lab-Junk: yes) lands in Junk instead.
delivery="$bin/check_smtp_delivery"
if [ ! -x "$delivery" ]; then
	echo "(no $delivery: check_smtp_delivery demo skipped)"
	echo
	return 0
fi
echo "== check_smtp_delivery against the lab =="
echo
# Probe state (late vs lost) in a directory of the demo's own.
demo_state=$(mktemp -d)
dlv=("$delivery" -H 127.0.0.1 --ca-file "$LAB_CA" --user "$LAB_USER" --password-ref "file:$LAB_PASSWORD_FILE"
	--from "monitor@lab.test" --imap-host 127.0.0.1 --imap-user "$LAB_USER"
	--imap-password-ref "file:$LAB_PASSWORD_FILE" --state-dir "$demo_state")
# A full round trip: submit on the submission port (STARTTLS + AUTH), find over IMAPS, delete it.
run "${dlv[@]}" --to "$LAB_ADDRESS" -p "$LAB_SUBMISSION_PORT" --imap-port "$LAB_IMAPS_PORT" -w 2 -c 5
# -v: the Received: hops with their delays, and the cleanup; found over IMAP+STARTTLS this time.
run "${dlv[@]}" --to "$LAB_ADDRESS" -p "$LAB_SMTPS_PORT" -s --imap-port "$LAB_IMAP_PORT" --imap-starttls -v
# The lab files mail to $LAB_USER+junk@ into Junk: WARNING, naming the folder.
run "${dlv[@]}" --to "${LAB_ADDRESS/@/+junk@}" -p "$LAB_SUBMISSION_PORT" --imap-port "$LAB_IMAPS_PORT"
rm -rf "$demo_state"
