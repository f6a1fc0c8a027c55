package authcheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestGoSMTPServer runs PLAIN and LOGIN against a real go-smtp server, and
// the rules around them: TLS required and verified, --expect-fail, refs.
func TestGoSMTPServer(t *testing.T) {
	p := newPKI(t)
	users := map[string]string{testUser: testPass}
	sub := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, AuthRequiresTLS: true, Users: users})
	smtps := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, Implicit: true, Users: users})
	noTLS := smtptest.MustStart(t, smtptest.Config{Users: users})
	passFile := secretFile(t, testPass)
	t.Setenv("SMTPCHECK_TEST_PASS", testPass)
	ca := []string{"--ca-file", p.caFile}
	login := []string{"--user", testUser, "--password-ref", "file:" + passFile}

	cases := []struct {
		name   string
		srv    *smtptest.Server
		args   []string
		code   int
		status string
	}{
		{"auto picks PLAIN", sub, append(ca, login...), 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with PLAIN in T s (STARTTLS TLSv1.3)"},
		{"LOGIN", sub, append(ca, append(login, "--mech", "login")...), 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with LOGIN in T s (STARTTLS TLSv1.3)"},
		{"env: reference", sub, append(ca, "--user", testUser, "--password-ref", "env:SMTPCHECK_TEST_PASS", "--mech", "PLAIN"), 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with PLAIN in T s (STARTTLS TLSv1.3)"},
		{"check_smtp flags", sub, append(ca, "-S", "-A", "LOGIN", "-U", testUser, "-P", testPass), 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with LOGIN in T s (STARTTLS TLSv1.3)"},
		{"implicit TLS", smtps, append(ca, append(login, "-s")...), 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with PLAIN in T s (TLS TLSv1.3)"},
		{"wrong password", sub, append(ca, "--user", testUser, "--password-ref", "file:"+secretFile(t, "wrong-"+testPass)), 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "535 5.7.8 Authentication failed" ({addr}) - wrong user name or password`},
		{"wrong user", sub, append(ca, "--user", "nobody@lab.test", "--password-ref", "file:"+passFile, "-m", "LOGIN"), 2,
			`SMTP AUTH CRITICAL - auth: LOGIN as nobody@lab.test refused: "535 5.7.8 Authentication failed" ({addr}) - wrong user name or password`},
		{"--expect-fail, refused", sub, append(ca, "--user", "disabled@lab.test", "--password-ref", "file:"+passFile, "--expect-fail"), 0,
			`SMTP AUTH OK - auth: PLAIN as disabled@lab.test refused as expected by {addr}: "535 5.7.8 Authentication failed"`},
		{"--expect-fail, accepted", sub, append(ca, append(login, "--expect-fail")...), 2,
			"SMTP AUTH CRITICAL - auth: {addr} accepted mon@lab.test with PLAIN, but --expect-fail says this login must be refused"},
		{"mechanism not offered", sub, append(ca, append(login, "--mech", "CRAM-MD5")...), 2,
			"SMTP AUTH CRITICAL - auth: {addr} does not offer CRAM-MD5 (offers: PLAIN LOGIN)"},
		{"unverified certificate refused", sub, login, 2,
			"SMTP AUTH CRITICAL - credentials not sent: the certificate of {addr} does not verify (x509: certificate signed by unknown authority) - add --ca-file with the CA that signed it (\"smtpcheck auth test CA\"), or add --insecure to send them anyway"},
		{"wrong name refused", sub, append(ca, append(login, "--verify-name", "mx.other.test")...), 2,
			"SMTP AUTH CRITICAL - credentials not sent: the certificate of {addr} does not verify (x509: certificate is valid for localhost, not mx.other.test) - give --verify-name with a name the certificate carries, or fix the certificate, or add --insecure to send them anyway"},
		{"unverified certificate with --insecure", sub, append(login, "--insecure"), 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with PLAIN in T s (STARTTLS TLSv1.3, certificate NOT verified: --insecure)"},
		{"no STARTTLS: refused", noTLS, login, 2,
			"SMTP AUTH CRITICAL - credentials not sent: {addr} does not offer STARTTLS - enable TLS on the server, use -s if the port speaks implicit TLS, or add --allow-plaintext to send them unencrypted"},
		{"no STARTTLS: --allow-plaintext", noTLS, append(login, "--allow-plaintext"), 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with PLAIN in T s (UNENCRYPTED: --allow-plaintext)"},
		{"--no-tls refused", sub, append(login, "--no-tls"), 3,
			"SMTP AUTH UNKNOWN - credentials not sent: --no-tls leaves the connection unencrypted - add --allow-plaintext to send them anyway, or drop --no-tls"},
		{"--no-tls, AUTH only inside TLS", sub, append(login, "--no-tls", "--allow-plaintext"), 2,
			"SMTP AUTH CRITICAL - auth: {addr} offers no mechanism usable with a password (offers: none; many servers offer AUTH only inside TLS)"},
		{"token for a password-only server", sub, append(ca, "--user", testUser, "--token-ref", "file:"+passFile), 2,
			"SMTP AUTH CRITICAL - auth: {addr} offers no mechanism usable with an OAuth token (offers: PLAIN LOGIN)"},
		{"auth time critical", sub, append(ca, append(login, "-w", "5", "-c=-1:0")...), 2,
			"SMTP AUTH CRITICAL - auth time T s (critical -1:0)"},
		{"auth time warning", sub, append(ca, append(login, "-w", "@0:10")...), 1,
			"SMTP AUTH WARNING - auth time T s (warning @0:10)"},
		{"missing secret", sub, append(ca, "--user", testUser, "--password-ref", "env:SMTPCHECK_NO_SUCH_VAR"), 3,
			"SMTP AUTH UNKNOWN - secret: --password-ref: env: SMTPCHECK_NO_SUCH_VAR: variable not set"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := check(t, hostArgs(tc.srv.Port, tc.args...)...)
			o.Expect(t, tc.code, strings.ReplaceAll(tc.status, "{addr}", tc.srv.Addr))
		})
	}
}

// -P works but says that it is visible; the long output says so first.
func TestLiteralPasswordWarns(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, Users: map[string]string{testUser: testPass}})
	o := check(t, hostArgs(srv.Port, "--ca-file", p.caFile, "-A", "PLAIN", "-U", testUser, "-P", testPass)...)
	o.Expect(t, 0, "SMTP AUTH OK - "+srv.Addr+" accepted mon@lab.test with PLAIN in T s (STARTTLS TLSv1.3)")
	o.Contains(t, "\nnote: -P puts the password on the command line, where other users can read it (ps, /proc); use --password-ref env:NAME or file:PATH instead\n")
}

func TestPerfdata(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, Users: map[string]string{testUser: testPass}})
	o := check(t, hostArgs(srv.Port, "--ca-file", p.caFile, "--user", testUser, "--password-ref", "file:"+secretFile(t, testPass), "-w", "3", "-c", "4")...)
	got := regexpNum.ReplaceAllString(o.Perf(), "=Ns")
	want := "'auth'=Ns;3;4;0; 'banner'=Ns;;;0; 'connect'=Ns;;;0; 'dns'=Ns;;;0; 'ehlo'=Ns;;;0; 'ehlo_tls'=Ns;;;0; " +
		"'quit'=Ns;;;0; 'starttls'=Ns;;;0; 'time'=Ns;;;0; 'total'=Ns;;;0;"
	if got != want {
		t.Errorf("perfdata\n got %s\nwant %s", got, want)
	}
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args   []string
		prefix string
	}{
		{[]string{"-h"}, "Usage:\n  check_smtp_auth [OPTIONS]"},
		{[]string{"-V"}, "check_smtp_auth dev\n"},
		{[]string{"--user", "u"}, "SMTP AUTH UNKNOWN - no credentials: give --user and --password-ref (or -U and -P), or --token-ref / --oauth-token-url (see check_smtp_auth --help)"},
		{[]string{"--password-ref", "env:X"}, "SMTP AUTH UNKNOWN - no user: give --user (or -U) (see check_smtp_auth --help)"},
		{[]string{"-U", "u", "-P", "p", "--password-ref", "env:X"}, "SMTP AUTH UNKNOWN - -P and --password-ref exclude each other: keep --password-ref"},
		{[]string{"--mech", "DIGEST-MD5", "--user", "u", "--password-ref", "env:X"}, "SMTP AUTH UNKNOWN - --mech DIGEST-MD5: want auto, SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN or XOAUTH2, OAUTHBEARER"},
		{[]string{"--mech", "XOAUTH2", "--user", "u", "--password-ref", "env:X"}, "SMTP AUTH UNKNOWN - --mech XOAUTH2 takes an OAuth token: give --token-ref or --oauth-token-url"},
		{[]string{"--mech", "PLAIN", "--user", "u", "--token-ref", "env:X"}, "SMTP AUTH UNKNOWN - --mech PLAIN takes a password: give --password-ref"},
		{[]string{"--user", "u", "--password-ref", "env:X", "--token-ref", "env:Y"}, "SMTP AUTH UNKNOWN - give a password (--password-ref) or a token (--token-ref, --oauth-*), not both"},
		{[]string{"--user", "u", "--oauth-token-url", "https://login.example/token"}, "SMTP AUTH UNKNOWN - the client-credentials grant needs --oauth-token-url, --oauth-client-id-ref and --oauth-client-secret-ref"},
		{[]string{"--user", "u", "--oauth-token-url", "http://login.example/token", "--oauth-client-id-ref", "env:A", "--oauth-client-secret-ref", "env:B"},
			"SMTP AUTH UNKNOWN - --oauth-token-url \"http://login.example/token\": want https:// (http:// only to a loopback address), the client secret travels there"},
		{[]string{"-s", "-S", "--user", "u", "--password-ref", "env:X"}, "SMTP AUTH UNKNOWN - -s (implicit TLS) and -S (STARTTLS) exclude each other"},
		{[]string{"-s", "-S", "--no-tls", "--user", "u", "--password-ref", "env:X"}, "SMTP AUTH UNKNOWN - -s (implicit TLS), -S (STARTTLS) and --no-tls exclude each other"},
		{[]string{"-A", "LOGIN", "--mech", "PLAIN", "-U", "u", "-P", "p"}, "SMTP AUTH UNKNOWN - -A LOGIN and --mech PLAIN disagree"},
	}
	for _, tc := range cases {
		o := check(t, tc.args...)
		if o.Code != 3 || !strings.HasPrefix(o.Out, tc.prefix) {
			t.Errorf("%v: exit %d, output\n%s\nwant exit 3 and prefix\n%s", tc.args, o.Code, o.Out, tc.prefix)
		}
	}
}
