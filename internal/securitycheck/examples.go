package securitycheck

import "github.com/smtpcheck/smtpcheck/internal/plugin"

// Examples end --help and make the man page's EXAMPLES: commands that work
// against a real server (tried against the lab server, make demo).
func (*Options) Examples() []plugin.Example {
	return []plugin.Example{
		{Command: "check_smtp_security -H mx.example.org", Checks: "Audit the MX on port 25: STARTTLS offered, no AUTH in clear text, not an open relay (RCPT only, never DATA), VRFY and EXPN, STARTTLS command injection, banner, old TLS."},
		{Command: "check_smtp_security -H smtp.example.org -p 587", Checks: "Audit a submission port: STARTTLS required before MAIL, no AUTH in clear text, no relay without AUTH."},
		{Command: "check_smtp_security -H smtp.example.org --role submissions", Checks: "Audit implicit TLS on port 465."},
		{Command: "check_smtp_security -H mx.example.org --skip banner,vrfy --state weak_tls=critical", Checks: "Leave two sub-checks out and make old TLS CRITICAL."},
		{Command: "check_smtp_security -H mx.example.org --rate-probe 30 --smuggling-rcpt postmaster@example.org -t 20", Checks: "Also the opt-in probes: 30 connections in a row must meet a rate limit, and no bare-LF end of DATA may end a message (a vulnerable server delivers the probe to postmaster@example.org)."},
		{Command: "check_smtp_security -H mx.example.org --domain example.org --dns-server 127.0.0.53", Checks: "Also what example.org publishes in the DNS, asked of a validating resolver: MX, SPF, DMARC, MTA-STS (its policy fetched over HTTPS), TLS-RPT and DANE TLSA at each MX."},
		{Command: "check_smtp_security -H mx.example.org --output json", Checks: "Every sub-check with its state, evidence and advice as one JSON object."},
	}
}
