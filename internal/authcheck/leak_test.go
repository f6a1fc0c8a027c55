package authcheck

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// forms are the encodings of s that must never appear in output.
func forms(s string) []string {
	return []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s)),
		base64.URLEncoding.EncodeToString([]byte(s))}
}

// TestSecretsNeverShown runs every mechanism, succeeding and failing, at
// every -v level and as JSON, and looks for any form of any secret.
func TestSecretsNeverShown(t *testing.T) {
	p := newPKI(t)
	users := map[string]string{testUser: testPass}
	goSMTP := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, AuthRequiresTLS: true, Users: users})
	wrongPass := "wrong-" + testPass
	passRef := "file:" + secretFile(t, testPass)
	wrongRef := "file:" + secretFile(t, wrongPass)
	tokenRef := "file:" + secretFile(t, testToken)
	wrongToken := "expired-" + testToken
	wrongTokenRef := "file:" + secretFile(t, wrongToken)

	var secrets []string
	for _, s := range []string{testPass, wrongPass, testToken, wrongToken,
		"\x00" + testUser + "\x00" + testPass, "\x00" + testUser + "\x00" + wrongPass,
		xoauth2IR, strings.ReplaceAll(xoauth2IR, testToken, wrongToken)} {
		secrets = append(secrets, forms(s)...)
	}

	type run struct {
		name string
		port int
		args []string
	}
	var runs []run
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		runs = append(runs,
			run{mech + " ok", goSMTP.Port, []string{"--mech", mech, "--password-ref", passRef}},
			run{mech + " wrong", goSMTP.Port, []string{"--mech", mech, "--password-ref", wrongRef}},
			run{mech + " -P", goSMTP.Port, []string{"-A", mech, "-P", testPass}},
			run{mech + " -P wrong", goSMTP.Port, []string{"-A", mech, "-P", wrongPass}})
	}
	scripted := map[string]func(c *smtptest.FaultConn){
		"SCRAM-SHA-256": scramServer("SCRAM-SHA-256", scram.SHA256, ""),
		"SCRAM-SHA-1":   scramServer("SCRAM-SHA-1", scram.SHA1, "e"),
		"CRAM-MD5":      cramServer,
	}
	for mech, script := range scripted {
		srv := authServer(t, p, mech, script)
		runs = append(runs,
			run{mech + " ok", srv.Port, []string{"--password-ref", passRef}},
			run{mech + " wrong", srv.Port, []string{"--password-ref", wrongRef}})
	}
	for _, mech := range []string{"XOAUTH2", "OAUTHBEARER"} {
		srv := authServer(t, p, mech, oauthServer(mech, xoauth2IR, "")) // OAUTHBEARER never matches: fails
		runs = append(runs,
			run{mech + " token", srv.Port, []string{"--token-ref", tokenRef}},
			run{mech + " wrong token", srv.Port, []string{"--token-ref", wrongTokenRef}})
	}

	levels := [][]string{nil, {"-v"}, {"-vv"}, {"-vvv"}, {"--output", "json"}, {"-vvv", "--output", "json"}}
	for _, r := range runs {
		for _, lv := range levels {
			args := hostArgs(r.port, append(append([]string{"--ca-file", p.caFile, "--user", testUser}, r.args...), lv...)...)
			o := check(t, args...)
			if o.Code == 3 {
				t.Errorf("%s %v: the check did not run:\n%s", r.name, lv, o.Out)
			}
			for _, s := range secrets {
				if strings.Contains(o.Out, s) {
					t.Errorf("%s %v: output contains a secret form %q:\n%s", r.name, lv, s, o.Out)
				}
			}
			if len(lv) > 0 && lv[0] == "-vvv" && !strings.Contains(o.Out, "C: AUTH ") {
				t.Errorf("%s %v: no AUTH line in the transcript:\n%s", r.name, lv, o.Out)
			}
		}
	}
}

// TestEchoedSecretsRedacted: a server echoing the credentials back (the
// password as a 334 challenge, PLAIN's or CRAM-MD5's response in its 535)
// gets <redacted> into the status line, JSON and -v transcript, never them.
func TestEchoedSecretsRedacted(t *testing.T) {
	p := newPKI(t)
	passRef := "file:" + secretFile(t, testPass)
	digest := sasl.CRAMMD5Digest(testPass, []byte("<1896.697170952@postoffice.reston.mci.net>"))
	var forbidden []string
	for _, s := range []string{testPass, "\x00" + testUser + "\x00" + testPass, testUser + " " + digest, digest} {
		forbidden = append(forbidden, forms(s)...)
	}
	echo := func(r string) string { return "535 5.7.8 bad " + r + " = " + unb64(r) }
	cases := []struct {
		mech       string
		script     func(c *smtptest.FaultConn)
		status     string
		transcript string
	}{
		{"LOGIN", echoServer("LOGIN", func(p string) string { return "334 " + p }),
			`auth: unexpected AUTH LOGIN challenge "<redacted>" ({addr})`, "S: 334 <redacted>"},
		{"PLAIN", echoServer("PLAIN", echo),
			`auth: PLAIN as mon@lab.test refused: "535 5.7.8 bad <redacted> = <redacted>" ({addr}) - wrong user name or password`, "S: 535 5.7.8 bad <redacted> = <redacted>"},
		{"CRAM-MD5", echoServer("CRAM-MD5", echo),
			`auth: CRAM-MD5 as mon@lab.test refused: "535 5.7.8 bad <redacted> = <redacted>" ({addr}) - wrong user name or password`, "S: 535 5.7.8 bad <redacted> = <redacted>"},
	}
	for _, tc := range cases {
		t.Run(tc.mech, func(t *testing.T) {
			srv := authServer(t, p, tc.mech, tc.script)
			args := hostArgs(srv.Port, "--ca-file", p.caFile, "--user", testUser, "--password-ref", passRef)
			status := strings.ReplaceAll(tc.status, "{addr}", srv.Addr)

			text := check(t, append(args, "-v")...)
			text.Expect(t, 2, "SMTP AUTH CRITICAL - "+status)
			text.Contains(t, "\n"+tc.transcript+"\n")

			js := check(t, append(args, "--output", "json", "-v")...)
			plugintest.ExpectRedacted(t, text, js, status, tc.transcript, forbidden)
		})
	}
}

// TestOwnWordsNotScrubbed: -P wrong and a one-letter password leave our own
// words ("wrong user name or password") and the server's intact; an echoed
// password is still redacted, as a whole word.
func TestOwnWordsNotScrubbed(t *testing.T) {
	p := newPKI(t)
	refuse := func(string) string { return "535 5.7.8 Error: authentication failed" }
	cases := []struct {
		pass, reply, status string
	}{
		{"wrong", refuse(""), `auth: LOGIN as mon@lab.test refused: "535 5.7.8 Error: authentication failed" ({addr}) - wrong user name or password`},
		{"a", refuse(""), `auth: LOGIN as mon@lab.test refused: "535 5.7.8 Error: authentication failed" ({addr}) - wrong user name or password`},
		{"wrong", "535 5.7.8 wrong is wrong, wrongly", `auth: LOGIN as mon@lab.test refused: "535 5.7.8 <redacted> is <redacted>, wrongly" ({addr}) - wrong user name or password`},
	}
	for _, tc := range cases {
		srv := authServer(t, p, "LOGIN", echoServer("LOGIN", func(string) string { return tc.reply }))
		o := check(t, hostArgs(srv.Port, "--ca-file", p.caFile, "-A", "LOGIN", "-U", testUser, "-P", tc.pass)...)
		o.Expect(t, 2, "SMTP AUTH CRITICAL - "+strings.ReplaceAll(tc.status, "{addr}", srv.Addr))
	}
}

// TestEarlySuccessIsNoLogin: a 235 before the mechanism has sent what it
// needs, or after an OAuth error challenge, is CRITICAL, also with
// --expect-fail; never OK.
func TestEarlySuccessIsNoLogin(t *testing.T) {
	p := newPKI(t)
	passRef := "file:" + secretFile(t, testPass)
	tokenRef := "file:" + secretFile(t, testToken)
	const ok = "235 2.7.0 Authentication successful"
	oauthErr := func(mech string) func(c *smtptest.FaultConn) {
		return func(c *smtptest.FaultConn) {
			if _, ok := readB64(c, "AUTH "+mech+" "); !ok {
				return
			}
			// The error challenge echoes the token: the SASL error is scrubbed too.
			_ = c.Send("334 " + b64("invalid token "+testToken))
			_, _ = c.ReadLine()
			_ = c.Send(ok)
		}
	}
	const afterErr = "the server sent an error challenge, after which it must refuse, not accept (RFC 7628 §3.2.2)"
	cases := []struct {
		mech string
		auth func(c *smtptest.FaultConn)
		args []string
		want string
	}{
		{"LOGIN", loginReply(ok), []string{"--password-ref", passRef},
			`auth: invalid response "235 2.7.0 Authentication successful" to AUTH LOGIN: the exchange is not finished (neither the user name nor the password was sent yet) ({addr})`},
		{"CRAM-MD5", func(c *smtptest.FaultConn) {
			if _, err := c.Expect("AUTH CRAM-MD5"); err == nil {
				_ = c.Send(ok)
			}
		}, []string{"--password-ref", passRef},
			`auth: invalid response "235 2.7.0 Authentication successful" to AUTH CRAM-MD5: the exchange is not finished (the server sent no challenge, so no CRAM-MD5 response was sent yet) ({addr})`},
		{"XOAUTH2", oauthErr("XOAUTH2"), []string{"--token-ref", tokenRef},
			`auth: invalid response "235 2.7.0 Authentication successful" to AUTH XOAUTH2: ` + afterErr + ` ({addr})`},
		{"OAUTHBEARER", oauthErr("OAUTHBEARER"), []string{"--token-ref", tokenRef},
			`auth: invalid response "235 2.7.0 Authentication successful" to AUTH OAUTHBEARER: ` + afterErr + ` ({addr})`},
	}
	for _, tc := range cases {
		t.Run(tc.mech, func(t *testing.T) {
			srv := authServer(t, p, tc.mech, tc.auth)
			for _, extra := range [][]string{nil, {"--expect-fail"}} {
				args := append(append([]string{"--ca-file", p.caFile, "--user", testUser, "--mech", tc.mech, "-v"}, tc.args...), extra...)
				o := check(t, hostArgs(srv.Port, args...)...)
				o.Expect(t, 2, "SMTP AUTH CRITICAL - "+strings.ReplaceAll(tc.want, "{addr}", srv.Addr)+" - this is not a well-behaved SMTP server on this port")
				if strings.HasPrefix(tc.mech, "O") || strings.HasPrefix(tc.mech, "X") {
					o.Contains(t, "; SASL error from the server: invalid token <redacted>\n")
				}
				for _, f := range forms(testToken) {
					if strings.Contains(o.Out, f) {
						t.Errorf("output shows the token form %q:\n%s", f, o.Out)
					}
				}
			}
		})
	}
}

// TestSecretsBeforeAuth: a server that knows the password and sends it
// before AUTH, in its banner and EHLO reply, raw and inside a longer base64
// word: none of it reaches the output, at any -v, in text or JSON.
// (TestOwnWordsNotScrubbed in conncheck: a short password that is an
// ordinary word of the banner stays as the server wrote it.)
func TestSecretsBeforeAuth(t *testing.T) {
	hidden := base64.StdEncoding.EncodeToString([]byte("Q" + testPass + " tail"))
	script := func(c *smtptest.FaultConn) {
		if c.Send("220 mx.test ESMTP "+testPass+" "+hidden) != nil {
			return
		}
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			switch verb, _, _ := strings.Cut(line, " "); strings.ToUpper(verb) {
			case "EHLO":
				_ = c.Send("250-mx.test "+testPass, "250-X-"+hidden, "250 AUTH PLAIN")
			case "AUTH":
				_ = c.Send("235 2.7.0 ok")
			case "QUIT":
				_ = c.Send("221 bye")
				return
			default:
				_ = c.Send("250 ok")
			}
		}
	}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", script)
	t.Setenv("AUTH_PW", testPass)
	for _, v := range [][]string{nil, {"-v"}, {"-vvv"}, {"--output", "json", "-vvv"}} {
		o := check(t, append(plugintest.HostArgs(srv.Addr), append([]string{"--no-tls", "--allow-plaintext", "--user", testUser,
			"--password-ref", "env:AUTH_PW", "--mech", "PLAIN"}, v...)...)...)
		if o.Code != 0 {
			t.Errorf("%v: exit %d, want 0 (the login worked):\n%s", v, o.Code, o.Out)
		}
		if strings.Contains(o.Out, testPass) || strings.Contains(o.Out, hidden) {
			t.Errorf("%v: the password shows:\n%s", v, o.Out)
		}
	}
}
