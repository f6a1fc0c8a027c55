package deliverycheck

import (
	"testing"
)

// TestAuthResults: only the headers of --authserv-id count (a forged
// dkim=pass by another id is ignored); they are shown, and with
// --require-auth-results judged: fail or absent CRITICAL, temperror
// alone WARNING.
func TestAuthResults(t *testing.T) {
	const trusted = "Authentication-Results: mail.example.test;\r\n spf=pass smtp.mailfrom=example.test;\r\n dkim=fail header.d=example.test;\r\n dkim=pass header.d=other.test;\r\n dmarc=temperror header.from=example.test\r\n"
	const forged = "Authentication-Results: evil.example.test; spf=pass; dkim=pass header.d=example.test; dmarc=pass\r\n"
	for _, c := range []struct {
		name    string
		headers string
		args    []string
		code    int
		status  string
		detail  string
	}{
		{"shown", forged + trusted, []string{"--authserv-id", "mail.example.test"},
			0, "SMTP DELIVERY OK - probe delivered to INBOX in T s (submitted in T s), queue id none", "auth-results by mail.example.test: spf=pass dkim=fail,pass dmarc=temperror"},
		{"temperror", forged + trusted, []string{"--authserv-id", "mail.example.test", "--require-auth-results", "spf,dkim,dmarc"},
			1, "SMTP DELIVERY WARNING - authentication results by mail.example.test: dmarc=temperror (--require-auth-results spf,dkim,dmarc wants pass)", ""},
		{"forged only", forged, []string{"--authserv-id", "mail.example.test", "--require-auth-results", "DKIM"},
			2, `SMTP DELIVERY CRITICAL - no Authentication-Results header by "mail.example.test" on the probe (--require-auth-results dkim wants pass)`, `auth-results: no Authentication-Results header by "mail.example.test" on the probe`},
		{"fail", "Authentication-Results: mail.example.test; spf=softfail smtp.mailfrom=example.test; dmarc=fail\r\n", []string{"--authserv-id", "MAIL.example.test", "--require-auth-results", "spf,dmarc,dkim"},
			2, "SMTP DELIVERY CRITICAL - authentication results by MAIL.example.test: spf=softfail dmarc=fail dkim=absent (--require-auth-results spf,dmarc,dkim wants pass)", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t, labOpts{})
			l.mu.Lock()
			l.headers = c.headers
			l.mu.Unlock()
			out := run(t, l.args(c.args...)...)
			out.Expect(t, c.code, c.status)
			if c.detail != "" {
				out.Contains(t, c.detail)
			}
		})
	}
}

// TestAuthResultsUsage: what cannot be judged is refused before anything is sent.
func TestAuthResultsUsage(t *testing.T) {
	base := []string{"-H", "127.0.0.1", "-p", "1", "--from", "a@b", "--to", "a@b", "--imap-user", "u", "--imap-password-ref", "env:X"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--require-auth-results", "spf"}, "--require-auth-results needs --authserv-id: the Authentication-Results of which server to trust (often its host name)"},
		{[]string{"--authserv-id", "mx", "--require-auth-results", "spf,arc"}, `--require-auth-results "spf,arc": want a comma-separated list of spf, dkim, dmarc`},
		{[]string{"--authserv-id", "mx; spf=pass"}, `--authserv-id "mx; spf=pass": a single word, as the server writes it before the first ';'`},
		{[]string{"--authserv-id", "mx", "--imap-only"}, "--authserv-id and --require-auth-results judge the delivered probe: not with --send-only or --imap-only"},
	} {
		out := run(t, append(append([]string{}, base...), c.args...)...)
		out.Expect(t, 3, "SMTP DELIVERY UNKNOWN - "+c.want+" (see check_smtp_delivery --help)")
	}
}
