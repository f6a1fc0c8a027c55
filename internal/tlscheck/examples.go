package tlscheck

import "github.com/smtpcheck/smtpcheck/internal/plugin"

// Examples end --help and make the man page's EXAMPLES: commands that work
// against a real server (tried against the lab server, make demo).
func (*Options) Examples() []plugin.Example {
	return []plugin.Example{
		{Command: "check_smtp_tls -H mx.example.org", Checks: "STARTTLS on port 25; the chain verified for mx.example.org, WARNING when an element expires within 30 days, CRITICAL within 14."},
		{Command: "check_smtp_tls -H 192.0.2.25 --sni-name mx.example.org", Checks: "Connect to an address, ask for the certificate of the server's name (SNI) and verify it for that name."},
		{Command: "check_smtp_tls -H mx.example.org -p 465 -s -w 60 -c 21", Checks: "Implicit TLS (SMTPS) with other day limits."},
		{Command: "check_smtp_tls -H mx.example.org --scan-versions", Checks: "Also try TLS 1.0 to 1.3 one by one and report which the server accepts."},
	}
}
