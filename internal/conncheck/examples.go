package conncheck

import "github.com/smtpcheck/smtpcheck/internal/plugin"

// Examples end --help and make the man page's EXAMPLES: commands that work
// against a real server (tried against the lab server, make demo).
func (*Options) Examples() []plugin.Example {
	return []plugin.Example{
		{Command: "check_smtp_conn -H mx.example.org", Checks: "Banner and EHLO on port 25; WARNING or CRITICAL when the server cannot be reached or refuses."},
		{Command: "check_smtp_conn -H mx.example.org -S -w 2 -c 5", Checks: "Also STARTTLS; WARNING when the whole session takes more than 2 seconds, CRITICAL above 5."},
		{Command: "check_smtp_conn -H mx.example.org -S --verify -D 30,14", Checks: "Verify the certificate (CRITICAL if it does not) and warn when it expires within 30 days, CRITICAL within 14."},
		{Command: "check_smtp_conn -H mx.example.org -f monitor@example.org --rcpt postmaster@example.org", Checks: "Send MAIL FROM and RCPT TO and judge the replies (nothing is delivered: the session ends with RSET and QUIT)."},
		{Command: "check_smtp_conn -H mx.example.org --output json", Checks: "The same facts as one JSON object, for scripts and Zabbix."},
	}
}
