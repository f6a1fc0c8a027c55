package conncheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestExim runs check_smtp_conn against the real Exim 4 of .ci/exim.sh,
// whose replies carry no enhanced status codes and whose EHLO offers
// PIPECONNECT: verdicts and hints must come from the basic codes and the
// session's facts.
func TestExim(t *testing.T) {
	ex := plugintest.Exim(t)
	host := plugintest.HostArgs
	user, pass, domain := ex["USER"], ex["PASSWORD"], ex["DOMAIN"]
	verified := []string{"--ca-file", ex["CA"], "--verify-name", ex["HOSTNAME"]}
	from := []string{"-f", user}
	cases := []struct {
		name   string
		args   []string
		code   int
		status string
	}{
		{"plain 25", host(ex["SMTP"]), 0, "SMTP OK - {addr} answered in T s"},
		{"STARTTLS 25 verified", append(host(ex["SMTP"]), append(verified, "-S", "--verify")...), 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"587 STARTTLS + AUTH LOGIN", append(host(ex["SUBMISSION"]), append(verified, "-S", "-A", "LOGIN", "-U", user, "-P", pass)...), 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3, AUTH LOGIN)"},
		{"465 implicit TLS + AUTH PLAIN", append(host(ex["SUBMISSIONS"]), append(verified, "-s", "-A", "PLAIN", "-U", user, "-P", pass)...), 0,
			"SMTP OK - {addr} answered in T s (TLS TLSv1.3, AUTH PLAIN)"},
		{"587 wrong password", append(host(ex["SUBMISSION"]), append(verified, "-S", "-A", "LOGIN", "-U", user, "-P", "wrong-"+pass)...), 2,
			`SMTP CRITICAL - auth: "535 Incorrect authentication data" ({addr}) - wrong user name or password`},
		{"RCPT to an unknown local user", append(host(ex["SMTP"]), append(from, "--rcpt", "nobody@"+domain)...), 2,
			`SMTP CRITICAL - rcpt <nobody@` + domain + `>: "550 Unrouteable address" - the recipient does not exist on this server`},
		{"RCPT to an outside domain", append(host(ex["SMTP"]), append(from, "--rcpt", "someone@example.net")...), 2,
			`SMTP CRITICAL - rcpt <someone@example.net>: "550 relay not permitted" - the server does not relay for this client: send to a domain it serves, or log in (-A/-U/-P) to relay`},
		{"RCPT to an outside domain in TLS on 25, which offers no AUTH", append(host(ex["SMTP"]), append(verified, "-S", "-f", user, "--rcpt", "someone@example.net")...), 2,
			`SMTP CRITICAL - rcpt <someone@example.net>: "550 relay not permitted" - the server does not relay for this client: send to a domain it serves; this port offers no login, so relay through its submission port (587 or 465) with a login`},
		{"RCPT to an outside domain after a login", append(host(ex["SUBMISSION"]), append(verified, "-S", "-A", "PLAIN", "-U", user, "-P", pass, "-f", user, "--rcpt", "someone@example.net")...), 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3, AUTH PLAIN, 1 RCPT accepted)"},
		{"RCPT to postmaster", append(host(ex["SMTP"]), append(from, "--rcpt", "postmaster@"+domain)...), 0,
			"SMTP OK - {addr} answered in T s (1 RCPT accepted)"},
		// Exim's 530 names neither STARTTLS nor a login: the facts decide.
		{"587 MAIL without TLS: AUTH is offered only inside it", append(host(ex["SUBMISSION"]), append(from, "--rcpt", "postmaster@"+domain)...), 2,
			`SMTP CRITICAL - mail <` + user + `>: "530 Authentication required" - STARTTLS is required first: add -S (or -s for port 465)`},
		{"587 MAIL in TLS without a login", append(host(ex["SUBMISSION"]), append(verified, "-S", "-f", user, "--rcpt", "postmaster@"+domain)...), 2,
			`SMTP CRITICAL - mail <` + user + `>: "530 Authentication required" - the server wants a login first: add -A/-U/-P, or use check_smtp_auth`},
		{"587 wrong password, then MAIL", append(host(ex["SUBMISSION"]), append(verified, "-S", "-A", "PLAIN", "-U", user, "-P", "wrong-"+pass, "-f", user, "--rcpt", "someone@example.net")...), 2,
			`SMTP CRITICAL - auth: "535 Incorrect authentication data" ({addr}) - wrong user name or password; mail <` + user + `>: "530 Authentication required" - the server wants a login first, and the login was refused: fix the login first`},
		{"587 --require-ext AUTH before STARTTLS", append(host(ex["SUBMISSION"]), "--require-ext", "AUTH"), 2,
			"SMTP CRITICAL - ehlo: required extension AUTH not offered (the server offers STARTTLS, and many offer AUTH only inside TLS: add -S)"},
		// Exim without hosts_proxy reads the PROXY header as a command and
		// answers it: never an OK read one reply late.
		{"-r against an Exim that does not expect PROXY", append(host(ex["SMTP"]), "-r"), 2,
			`SMTP CRITICAL - proxy: the server answered the PROXY header with "500 unrecognized command" ({addr}) - it does not expect the PROXY protocol`},
		{"-r -S against an Exim that does not expect PROXY", append(host(ex["SMTP"]), "-r", "-S"), 2,
			`SMTP CRITICAL - proxy: the server answered the PROXY header with "500 unrecognized command" ({addr}) - it does not expect the PROXY protocol`},
		{"--proxy-version 2 against an Exim that does not expect PROXY", append(host(ex["SMTP"]), "--proxy-version", "2"), 2,
			`SMTP CRITICAL - proxy: the server answered the PROXY header with "500 unrecognized command" ({addr}) - it does not expect the PROXY protocol`},
		// On 465 the header meets the TLS server, which ends the handshake.
		{"-r -s against an Exim that does not expect PROXY", append(host(ex["SUBMISSIONS"]), "-r", "-s"), 2,
			`SMTP CRITICAL - tls: TLS handshake failed: unexpected message ({addr}) - the server may not expect the PROXY header sent before TLS: drop -r (--proxy-version), or have it expect one; else `},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, append(tc.args, "-t", "10")...)
			want := strings.ReplaceAll(tc.status, "{addr}", tc.args[1]+":"+tc.args[3])
			if o.Code != tc.code || !strings.HasPrefix(o.Status(), want) {
				t.Errorf("exit %d, status\n  %q\nwant exit %d, status starting\n  %q\n%s", o.Code, o.Status(), tc.code, want, o.Out)
			}
		})
	}
}
