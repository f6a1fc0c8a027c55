package deliverycheck

import "github.com/smtpcheck/smtpcheck/internal/plugin"

// Examples end --help and make the man page's EXAMPLES: commands that work
// against a real server (tried against Postfix + Dovecot, .ci/mailserver.sh).
func (*Options) Examples() []plugin.Example {
	return []plugin.Example{
		{Command: "check_smtp_delivery -H mail.example.org --user monitor@example.org --password-ref file:/etc/smtpcheck/monitor.pass --from monitor@example.org --to monitor@example.org",
			Checks: "Submit a probe on 587 (STARTTLS + AUTH), find it over IMAPS on 993 of the same host with the same login, delete it; -t 50 by default."},
		{Command: "check_smtp_delivery -H mx.example.org -p 25 --from probe@example.net --to monitor@example.org --imap-host imap.example.org --imap-user monitor --imap-password-ref env:IMAP_PASSWORD -w 10 -c 30",
			Checks: "Deliver to an MX without AUTH and find it on another server; WARNING above 10 s of delay, CRITICAL above 30 s, and WARNING when it lands in Junk."},
		{Command: "check_smtp_delivery -H mail.example.org -p 465 --user monitor@example.org --password-ref vault:secret/monitoring/mail#password --from monitor@example.org --to monitor@example.org --imap-port 143",
			Checks: "Implicit TLS for SMTP, STARTTLS for IMAP; the password from HashiCorp Vault, read by smtpcheck-secret."},
		{Command: "check_smtp_delivery -H mail.example.org --imap-only --user monitor@example.org --password-ref file:/etc/smtpcheck/monitor.pass",
			Checks: "Send nothing: log in over IMAP, report probes of earlier runs that arrived late, remove stale ones."},
	}
}
