package conncheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestPostfix runs check_smtp-style command lines against a real Postfix
// (with Dovecot SASL) and, where check_smtp can express the same check,
// runs it too and compares exit codes.
func TestPostfix(t *testing.T) {
	pf := plugintest.Postfix(t)
	host := func(addr string) []string {
		h, p, _ := strings.Cut(addr, ":")
		return []string{"-H", h, "-p", p}
	}
	user, pass := pf["USER"], pf["PASSWORD"]
	// Credentials go only to a verified server (a deliberate difference from check_smtp).
	verified := []string{"--ca-file", pf["CA"], "--verify-name", pf["HOSTNAME"]}
	cases := []struct {
		name   string
		args   []string
		ref    bool // check_smtp takes the same flags and must agree
		code   int
		status string
	}{
		{"plain 25", host(pf["SMTP"]), true, 0, "SMTP OK - {addr} answered in T s"},
		{"STARTTLS 25", append(host(pf["SMTP"]), "-S"), true, 0, "SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"STARTTLS 25 verified", append(host(pf["SMTP"]), "-S", "--verify", "--ca-file", pf["CA"], "--verify-name", "mail.smtpcheck.test", "-D", "30,14"), false, 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"587 STARTTLS + AUTH LOGIN", append(host(pf["SUBMISSION"]), append(verified, "-S", "-A", "LOGIN", "-U", user, "-P", pass)...), false, 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3, AUTH LOGIN)"},
		{"587 STARTTLS + AUTH LOGIN, certificate not trusted", append(host(pf["SUBMISSION"]), "-S", "-A", "LOGIN", "-U", user, "-P", pass), false, 2,
			"SMTP CRITICAL - auth: credentials not sent: the certificate of {addr} does not verify (x509: certificate signed by unknown authority) - add --ca-file with the CA that signed it (\"smtpcheck test CA\"), or add --insecure to send them anyway"},
		{"587 wrong password", append(host(pf["SUBMISSION"]), append(verified, "-S", "-A", "LOGIN", "-U", user, "-P", "wrong-"+pass)...), false, 2,
			`SMTP CRITICAL - auth: "535 5.7.8 Error: authentication failed: (reason unavailable)" ({addr}) - wrong user name or password`},
		{"587 AUTH without STARTTLS", append(host(pf["SUBMISSION"]), "-A", "LOGIN", "-U", user, "-P", pass), false, 3,
			"SMTP UNKNOWN - auth: refused to send the password unencrypted: add -S (STARTTLS) or -s, or --allow-plaintext"},
		{"465 implicit TLS + AUTH PLAIN", append(host(pf["SUBMISSIONS"]), append(verified, "-s", "-A", "PLAIN", "-U", user, "-P", pass)...), false, 0,
			"SMTP OK - {addr} answered in T s (TLS TLSv1.3, AUTH PLAIN)"},
		{"RCPT to an unknown user", append(host(pf["SMTP"]), "-f", "monitor@smtpcheck.test", "--rcpt", "nobody@smtpcheck.test"), false, 2,
			`SMTP CRITICAL - rcpt <nobody@smtpcheck.test>: "550 5.1.1 <nobody@smtpcheck.test>: Recipient address rejected: User unknown in local recipient table" - the recipient does not exist on this server`},
		{"RCPT to postmaster", append(host(pf["SMTP"]), "-f", "monitor@smtpcheck.test", "--rcpt", "postmaster@smtpcheck.test"), false, 0,
			"SMTP OK - {addr} answered in T s (1 RCPT accepted)"},
		{"expired certificate", append(host(pf["EXPIRED"]), "-S", "-D", "30,14"), false, 2, "SMTP CRITICAL - certificate \"mail.smtpcheck.test\" expired on "},
		// Postfix without smtpd_upstream_proxy_protocol answers the header as a command.
		{"-r against a Postfix that does not expect PROXY", append(host(pf["SMTP"]), "-r"), false, 2,
			`SMTP CRITICAL - proxy: the server answered the PROXY header with "500 5.5.2 Error: command not recognized" ({addr}) - it does not expect the PROXY protocol`},
		{"587 --require-ext AUTH before STARTTLS", append(host(pf["SUBMISSION"]), "--require-ext", "AUTH"), false, 2,
			"SMTP CRITICAL - ehlo: required extension AUTH not offered (the server offers STARTTLS, and many offer AUTH only inside TLS: add -S)"},
		{"wrong name with --verify", append(host(pf["WRONGNAME"]), "-S", "--verify", "--ca-file", pf["CA"], "--verify-name", "mail.smtpcheck.test"), false, 2,
			"SMTP CRITICAL - tls: certificate does not verify: x509: certificate is valid for wrong.example.invalid, not mail.smtpcheck.test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-t", "10")...)
			want := strings.ReplaceAll(tc.status, "{addr}", tc.args[1]+":"+tc.args[3])
			if o.Code != tc.code || !strings.HasPrefix(o.Status(), want) {
				t.Errorf("exit %d, status\n  %q\nwant exit %d, status starting\n  %q\n%s", o.Code, o.Status(), tc.code, want, o.Out)
			}
			if tc.ref {
				plugintest.AgreesWithCheckSMTP(t, tc.code, tc.args...)
			}
		})
	}
}
