package authcheck

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

const testToken = "ya29.a0AfH6SMB-test-token-Zx9"

// authServer greets, offers STARTTLS, runs TLS with p's certificate, offers
// AUTH mechs, hands the AUTH exchange to auth, then answers QUIT.
func authServer(t *testing.T, p pki, mechs string, auth func(c *smtptest.FaultConn)) *smtptest.FaultServer {
	t.Helper()
	return smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO("STARTTLS") != nil {
			return
		}
		if _, err := c.Expect("STARTTLS"); err != nil {
			return
		}
		if c.Send("220 2.0.0 go ahead") != nil || c.StartTLS(p.cfg) != nil {
			return
		}
		if c.EHLO("AUTH "+mechs, "ENHANCEDSTATUSCODES") != nil {
			return
		}
		auth(c)
		if _, err := c.Expect("QUIT"); err == nil {
			_ = c.Send("221 2.0.0 bye")
		}
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// readB64 reads one client line and decodes it ("AUTH X <ir>" gives <ir>).
func readB64(c *smtptest.FaultConn, prefix string) (string, bool) {
	line, err := c.Expect(prefix)
	if err != nil {
		return "", false
	}
	enc := strings.TrimSpace(line[len(prefix):])
	if enc == "=" {
		return "", true
	}
	dec, err := base64.StdEncoding.DecodeString(enc)
	return string(dec), err == nil
}

// cramServer checks the RFC 2195 answer to its challenge.
func cramServer(c *smtptest.FaultConn) {
	if _, err := c.Expect("AUTH CRAM-MD5"); err != nil {
		return
	}
	challenge := "<1896.697170952@postoffice.reston.mci.net>"
	_ = c.Send("334 " + b64(challenge))
	resp, ok := readB64(c, "")
	if ok && resp == testUser+" "+sasl.CRAMMD5Digest(testPass, []byte(challenge)) {
		_ = c.Send("235 2.7.0 Authentication successful")
		return
	}
	_ = c.Send("535 5.7.8 Error: authentication failed")
}

// scramServer runs xdg-go/scram's server side; mode bends it: "" honest,
// "badsig" a wrong v=, "nosig" 235 without v=, "e" an e= server-final,
// "e-always" e=other-error even to the right proof.
func scramServer(mech string, h scram.HashGeneratorFcn, mode string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		srv, _ := h.NewServer(func(user string) (scram.StoredCredentials, error) {
			cl, _ := h.NewClient(user, testPass, "")
			return cl.GetStoredCredentials(scram.KeyFactors{Salt: "0123456789abcdef", Iters: 4096}), nil
		})
		conv := srv.NewConversation()
		ir, ok := readB64(c, "AUTH "+mech+" ")
		if !ok {
			return
		}
		s1, err := conv.Step(ir)
		if err != nil {
			_ = c.Send("501 5.5.2 bad client-first")
			return
		}
		_ = c.Send("334 " + b64(s1))
		c2, _ := readB64(c, "")
		s2, err := conv.Step(c2)
		switch {
		case mode == "nosig" && err == nil:
			_ = c.Send("235 2.7.0 Authentication successful")
			return
		case mode == "badsig" && err == nil:
			s2 = "v=" + b64(strings.Repeat("x", h().Size()))
		case mode == "e-always" && err == nil:
			s2 = "e=other-error"
			fallthrough
		case mode == "e" && err != nil:
			_ = c.Send("334 " + b64(s2))
			_, _ = c.ReadLine()
			_ = c.Send("535 5.7.8 Authentication credentials invalid")
			return
		case err != nil:
			_ = c.Send("535 5.7.8 Authentication credentials invalid")
			return
		}
		_ = c.Send("334 " + b64(s2))
		if line, _ := c.ReadLine(); line == "*" {
			_ = c.Send("501 5.7.0 Authentication aborted")
			return
		}
		_ = c.Send("235 2.7.0 Authentication successful")
	}
}

// scramHostile answers the client-first-message with the server-first
// first(client nonce) makes, then takes what the client sends (its "*"
// abort, or a client-final) and refuses.
func scramHostile(mech string, first func(nonce string) string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		ir, ok := readB64(c, "AUTH "+mech+" ")
		_, nonce, found := strings.Cut(ir, ",r=")
		if !ok || !found || c.Send("334 "+b64(first(nonce))) != nil {
			return
		}
		if line, _ := c.ReadLine(); line == "*" {
			_ = c.Send("501 5.7.0 Authentication aborted")
			return
		}
		_ = c.Send("535 5.7.8 Authentication credentials invalid")
	}
}

// oauthServer accepts testToken for testUser; otherwise it sends the JSON
// error challenge and wants the mechanism's dummy answer ("" or %x01).
func oauthServer(mech, want, dummy string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		ir, ok := readB64(c, "AUTH "+mech+" ")
		if !ok {
			return
		}
		ir = portRe.ReplaceAllString(ir, "\x01port={port}\x01") // the port varies per test
		if ir == want {
			_ = c.Send("235 2.7.0 Accepted")
			return
		}
		_ = c.Send("334 " + b64(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`))
		if resp, ok := readB64(c, ""); !ok || resp != dummy {
			_ = c.Send("501 5.5.2 expected the dummy response")
			return
		}
		_ = c.Send("535 5.7.8 Username and Password not accepted")
	}
}

// replyServer answers AUTH PLAIN with one reply (and then maybe closes).
func replyServer(reply string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		if _, err := c.Expect("AUTH PLAIN "); err == nil {
			_ = c.Send(reply)
		}
	}
}

// loginReply answers AUTH LOGIN at once with reply (Postfix's smtp-sink: 250).
func loginReply(reply string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		if _, err := c.Expect("AUTH LOGIN"); err == nil {
			_ = c.Send(reply)
		}
	}
}

// echoServer runs mech's exchange (LOGIN's two prompts, CRAM-MD5's
// challenge, PLAIN's initial response) and answers the last client line,
// as sent in base64, with reply(it).
func echoServer(mech string, reply func(b64 string) string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		line, err := c.Expect("AUTH " + mech)
		if err != nil {
			return
		}
		last := strings.TrimSpace(strings.TrimPrefix(line, "AUTH "+mech))
		prompts := map[string][]string{"LOGIN": {"VXNlcm5hbWU6", "UGFzc3dvcmQ6"}, "CRAM-MD5": {b64("<1896.697170952@postoffice.reston.mci.net>")}}[mech]
		for _, p := range prompts {
			if c.Send("334 "+p) != nil {
				return
			}
			if last, err = c.ReadLine(); err != nil {
				return
			}
		}
		c.AuthReply(reply(last))
	}
}

func unb64(s string) string {
	b, _ := base64.StdEncoding.DecodeString(s)
	return string(b)
}

var portRe = regexp.MustCompile("\x01port=[0-9]+\x01")

const xoauth2IR = "user=" + testUser + "\x01auth=Bearer " + testToken + "\x01\x01"
const oauthbearerIR = "n,a=" + testUser + ",\x01host=127.0.0.1\x01port={port}\x01auth=Bearer " + testToken + "\x01\x01"

func TestScriptedMechanisms(t *testing.T) {
	p := newPKI(t)
	pass := "file:" + secretFile(t, testPass)
	wrong := "file:" + secretFile(t, "wrong-"+testPass)
	token := "file:" + secretFile(t, testToken)
	badToken := "file:" + secretFile(t, "expired-"+testToken)
	all := "PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256 XOAUTH2 OAUTHBEARER"
	cases := []struct {
		name   string
		mechs  string
		script func(c *smtptest.FaultConn)
		args   []string
		code   int
		status string
	}{
		{"CRAM-MD5", "PLAIN CRAM-MD5", cramServer, []string{"--password-ref", pass}, 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with CRAM-MD5 in T s (STARTTLS TLSv1.3)"},
		{"CRAM-MD5 wrong password", "CRAM-MD5", cramServer, []string{"--password-ref", wrong}, 2,
			`SMTP AUTH CRITICAL - auth: CRAM-MD5 as mon@lab.test refused: "535 5.7.8 Error: authentication failed" ({addr}) - wrong user name or password`},
		{"SCRAM-SHA-256 auto", all, scramServer("SCRAM-SHA-256", scram.SHA256, ""), []string{"--password-ref", pass}, 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with SCRAM-SHA-256 in T s (STARTTLS TLSv1.3, server signature verified)"},
		{"SCRAM-SHA-1 auto", "PLAIN SCRAM-SHA-1 CRAM-MD5", scramServer("SCRAM-SHA-1", scram.SHA1, ""), []string{"--password-ref", pass}, 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with SCRAM-SHA-1 in T s (STARTTLS TLSv1.3, server signature verified)"},
		{"SCRAM-SHA-256 wrong password", all, scramServer("SCRAM-SHA-256", scram.SHA256, ""), []string{"--password-ref", wrong}, 2,
			`SMTP AUTH CRITICAL - auth: SCRAM-SHA-256 as mon@lab.test refused: "535 5.7.8 Authentication credentials invalid" ({addr}) - wrong user name or password`},
		{"SCRAM-SHA-1 e= server-final", all, scramServer("SCRAM-SHA-1", scram.SHA1, "e"), []string{"--password-ref", wrong, "--mech", "SCRAM-SHA-1"}, 2,
			`SMTP AUTH CRITICAL - auth: SCRAM-SHA-1 as mon@lab.test refused: "535 5.7.8 Authentication credentials invalid" (SASL: e=invalid-proof) ({addr}) - wrong user name or password`},
		{"SCRAM-SHA-256 wrong server signature", all, scramServer("SCRAM-SHA-256", scram.SHA256, "badsig"), []string{"--password-ref", pass}, 2,
			"SMTP AUTH CRITICAL - auth: SCRAM-SHA-256 as mon@lab.test: the server's SCRAM signature does not verify ({addr}) - it does not hold this password's keys: another server, or a man in the middle, answers"},
		{"SCRAM-SHA-256 no server signature", all, scramServer("SCRAM-SHA-256", scram.SHA256, "nosig"), []string{"--password-ref", pass}, 2,
			"SMTP AUTH CRITICAL - auth: {addr} accepted mon@lab.test with SCRAM-SHA-256 without proving that it knows the password (no SCRAM server signature)"},
		{"SCRAM-SHA-256 nonce not extending ours", all, scramHostile("SCRAM-SHA-256", func(n string) string { return "r=" + n[1:] + "xyz,s=c2FsdA==,i=4096" }), []string{"--password-ref", pass}, 2,
			"SMTP AUTH CRITICAL - auth: SCRAM-SHA-256: bad server-first-message: the server's nonce does not extend ours ({addr})"},
		{"SCRAM-SHA-256 nonce only ours", all, scramHostile("SCRAM-SHA-256", func(n string) string { return "r=" + n + ",s=c2FsdA==,i=4096" }), []string{"--password-ref", pass}, 2,
			"SMTP AUTH CRITICAL - auth: SCRAM-SHA-256: bad server-first-message: the server's nonce does not extend ours ({addr})"},
		{"SCRAM-SHA-1 bad base64 salt", all, scramHostile("SCRAM-SHA-1", func(n string) string { return "r=" + n + "xyz,s=c2FsdA=,i=4096" }), []string{"--password-ref", pass, "--mech", "SCRAM-SHA-1"}, 2,
			"SMTP AUTH CRITICAL - auth: SCRAM-SHA-1: bad server-first-message: the salt is not base64 ({addr})"},
		{"SCRAM-SHA-256 i=0", all, scramHostile("SCRAM-SHA-256", func(n string) string { return "r=" + n + "xyz,s=c2FsdA==,i=0" }), []string{"--password-ref", pass}, 2,
			"SMTP AUTH CRITICAL - auth: SCRAM-SHA-256: bad server-first-message: the server asks for 0 iterations, fewer than the 4096 RFC 7677 wants ({addr})"},
		{"SCRAM-SHA-256 i=2^31-1", all, scramHostile("SCRAM-SHA-256", func(n string) string { return "r=" + n + "xyz,s=c2FsdA==,i=2147483647" }), []string{"--password-ref", pass, "-t", "2"}, 2,
			"SMTP AUTH CRITICAL - auth: SCRAM-SHA-256: bad server-first-message: the server asks for 2147483647 iterations, more than the 1000000 we compute ({addr})"},
		{"SCRAM-SHA-1 e= server-final, right password", all, scramServer("SCRAM-SHA-1", scram.SHA1, "e-always"), []string{"--password-ref", pass, "--mech", "SCRAM-SHA-1"}, 2,
			`SMTP AUTH CRITICAL - auth: SCRAM-SHA-1 as mon@lab.test refused: "535 5.7.8 Authentication credentials invalid" (SASL: e=other-error) ({addr}) - wrong user name or password`},
		{"XOAUTH2", all, oauthServer("XOAUTH2", xoauth2IR, ""), []string{"--token-ref", token}, 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with XOAUTH2 in T s (STARTTLS TLSv1.3)"},
		{"XOAUTH2 expired token", "XOAUTH2", oauthServer("XOAUTH2", xoauth2IR, ""), []string{"--token-ref", badToken}, 2,
			`SMTP AUTH CRITICAL - auth: XOAUTH2 as mon@lab.test refused: "535 5.7.8 Username and Password not accepted" (SASL: status 401, scope https://mail.google.com/) ({addr}) - wrong user name or password`},
		{"OAUTHBEARER", "OAUTHBEARER", oauthServer("OAUTHBEARER", oauthbearerIR, "\x01"), []string{"--token-ref", token}, 0,
			"SMTP AUTH OK - {addr} accepted mon@lab.test with OAUTHBEARER in T s (STARTTLS TLSv1.3)"},
		{"OAUTHBEARER expired token", all, oauthServer("OAUTHBEARER", oauthbearerIR, "\x01"), []string{"--token-ref", badToken, "--mech", "oauthbearer"}, 2,
			`SMTP AUTH CRITICAL - auth: OAUTHBEARER as mon@lab.test refused: "535 5.7.8 Username and Password not accepted" (SASL: status 401, scope https://mail.google.com/) ({addr}) - wrong user name or password`},
		{"mechanism not offered names the offer", "PLAIN LOGIN", func(*smtptest.FaultConn) {}, []string{"--password-ref", pass, "--mech", "SCRAM-SHA-256"}, 2,
			"SMTP AUTH CRITICAL - auth: {addr} does not offer SCRAM-SHA-256 (offers: PLAIN LOGIN)"},
		{"454 4.7.0", "PLAIN", replyServer("454 4.7.0 Temporary authentication failure"), []string{"--password-ref", pass}, 1,
			`SMTP AUTH WARNING - auth: PLAIN as mon@lab.test refused: "454 4.7.0 Temporary authentication failure" ({addr}) - temporary authentication failure: the server's authentication backend is down or slow, look at its log`},
		{"535 5.7.3", "PLAIN", replyServer("535 5.7.3 Authentication unsuccessful"), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "535 5.7.3 Authentication unsuccessful" ({addr}) - wrong user name or password, or the account may not log in here (disabled)`},
		{"534 5.7.9", "PLAIN", replyServer("534 5.7.9 Application-specific password required"), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "534 5.7.9 Application-specific password required" ({addr}) - the provider wants an app password or a stronger mechanism (e.g. XOAUTH2)`},
		{"538 5.7.11", "PLAIN", replyServer("538 5.7.11 Encryption required for requested authentication mechanism"), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "538 5.7.11 Encryption required for requested authentication mechanism" ({addr}) - encryption is required for this mechanism: use STARTTLS or implicit TLS`},
		{"530 5.7.0 STARTTLS", "PLAIN", replyServer("530 5.7.0 Must issue a STARTTLS command first"), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "530 5.7.0 Must issue a STARTTLS command first" ({addr}) - the server wants another step before AUTH although TLS is on: look at its log`},
		{"530 5.7.0", "PLAIN", replyServer("530 5.7.0 Authentication required"), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "530 5.7.0 Authentication required" ({addr}) - the server wants another step before AUTH although TLS is on: look at its log`},
		{"421: the server closes the session", "PLAIN", replyServer("421 4.7.0 mx.test Error: too many errors"), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "421 4.7.0 mx.test Error: too many errors" ({addr}) - the server is closing the connection (overload, shutdown or rate limit): retry later, look at its log`},
		{"--expect-fail with 535", "PLAIN", replyServer("535 5.7.8 Authentication failed"), []string{"--password-ref", pass, "--expect-fail"}, 0,
			`SMTP AUTH OK - auth: PLAIN as mon@lab.test refused as expected by {addr}: "535 5.7.8 Authentication failed"`},
		{"--expect-fail with 454 stays WARNING", "PLAIN", replyServer("454 4.7.0 Temporary authentication failure"), []string{"--password-ref", pass, "--expect-fail"}, 1,
			`SMTP AUTH WARNING - auth: PLAIN as mon@lab.test refused: "454 4.7.0 Temporary authentication failure" ({addr}) - temporary authentication failure: the server's authentication backend is down or slow, look at its log`},
		// Only 235 ends AUTH: a 250 is no login, with or without --expect-fail.
		{"250 to AUTH PLAIN", "PLAIN", replyServer("250 2.0.0 Ok"), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: invalid response "250 2.0.0 Ok" to AUTH PLAIN: expected 235 or 334 ({addr}) - this is not a well-behaved SMTP server on this port`},
		{"250 to AUTH LOGIN", "PLAIN LOGIN", loginReply("250 2.0.0 Ok"), []string{"--password-ref", pass, "--mech", "LOGIN"}, 2,
			`SMTP AUTH CRITICAL - auth: invalid response "250 2.0.0 Ok" to AUTH LOGIN: expected 235 or 334 ({addr}) - this is not a well-behaved SMTP server on this port`},
		{"250 to AUTH LOGIN, --expect-fail", "LOGIN", loginReply("250 2.0.0 Ok"), []string{"--password-ref", pass, "--expect-fail"}, 2,
			`SMTP AUTH CRITICAL - auth: invalid response "250 2.0.0 Ok" to AUTH LOGIN: expected 235 or 334 ({addr}) - this is not a well-behaved SMTP server on this port`},
		// Echoed credentials are redacted (TestEchoedSecretsRedacted covers -v and JSON).
		{"password echoed as a 334 challenge", "LOGIN", echoServer("LOGIN", func(p string) string { return "334 " + p }), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: unexpected AUTH LOGIN challenge "<redacted>" ({addr})`},
		{"PLAIN response echoed in the 535", "PLAIN", echoServer("PLAIN", func(ir string) string { return "535 5.7.8 bad " + ir + " = " + unb64(ir) }), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: PLAIN as mon@lab.test refused: "535 5.7.8 bad <redacted> = <redacted>" ({addr}) - wrong user name or password`},
		{"CRAM-MD5 response echoed in the 535", "CRAM-MD5", echoServer("CRAM-MD5", func(r string) string { return "535 5.7.8 bad " + r + " = " + unb64(r) }), []string{"--password-ref", pass}, 2,
			`SMTP AUTH CRITICAL - auth: CRAM-MD5 as mon@lab.test refused: "535 5.7.8 bad <redacted> = <redacted>" ({addr}) - wrong user name or password`},
		{"AUTH never answered", "PLAIN", func(c *smtptest.FaultConn) { c.Hang() }, []string{"--password-ref", pass, "-t", "1"}, 2,
			"SMTP AUTH CRITICAL - auth: no answer within the 1 s timeout ({addr}) - the server is slow or stuck; raise -t if this is expected"},
		{"AUTH never answered, -t 1:UNKNOWN", "PLAIN", func(c *smtptest.FaultConn) { c.Hang() }, []string{"--password-ref", pass, "-t", "1:UNKNOWN"}, 3,
			"SMTP AUTH UNKNOWN - auth: no answer within the 1 s timeout ({addr}) - the server is slow or stuck; raise -t if this is expected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := authServer(t, p, tc.mechs, tc.script)
			args := hostArgs(srv.Port, append([]string{"--ca-file", p.caFile, "--user", testUser}, tc.args...)...)
			o := check(t, args...)
			o.Expect(t, tc.code, strings.ReplaceAll(tc.status, "{addr}", srv.Addr))
			o.Within(t, 5*time.Second)
		})
	}
}
