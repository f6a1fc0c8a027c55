package sasl

import (
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// exchange runs client's AUTH against a fault server whose auth script
// answers it, and returns the error and the transcript.
func exchange(t *testing.T, client Client, auth func(c *smtptest.FaultConn)) ([]string, error) {
	t.Helper()
	srv := smtptest.MustStartFault(t, auth)
	nc, err := net.DialTimeout("tcp", srv.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	tr := smtp.NewTranscript()
	_, err = smtp.NewConn(nc, tr).Auth(client)
	return tr.Lines(), err
}

// A 235 counts only once the mechanism has sent what it needs, and never
// after an OAuth error challenge (RFC 7628 §3.2.2).
func TestEarlySuccessIsNoLogin(t *testing.T) {
	const ok = "235 2.7.0 Authentication successful"
	errJSON := b64(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`)
	oauthErr := func(mech string) func(c *smtptest.FaultConn) {
		return func(c *smtptest.FaultConn) {
			if _, err := c.Expect("AUTH " + mech + " "); err != nil {
				return
			}
			_ = c.Send("334 " + errJSON)
			_, _ = c.ReadLine() // the empty or dummy response
			_ = c.Send(ok)
		}
	}
	const afterErr = "the server sent an error challenge, after which it must refuse, not accept (RFC 7628 §3.2.2)"
	cases := []struct {
		mech  string
		creds Credentials
		auth  func(c *smtptest.FaultConn)
		want  string
	}{
		{CRAMMD5, Credentials{User: "u", Password: "p"}, func(c *smtptest.FaultConn) {
			if _, err := c.Expect("AUTH CRAM-MD5"); err == nil {
				_ = c.Send(ok)
			}
		}, `invalid response "235 2.7.0 Authentication successful" to AUTH CRAM-MD5: the exchange is not finished (the server sent no challenge, so no CRAM-MD5 response was sent yet)`},
		{Login, Credentials{User: "u", Password: "p"}, func(c *smtptest.FaultConn) {
			if _, err := c.Expect("AUTH LOGIN"); err == nil && c.Send("334 "+b64("Username:")) == nil {
				_, _ = c.ReadLine()
				_ = c.Send(ok)
			}
		}, `invalid response "235 2.7.0 Authentication successful" to AUTH LOGIN: the exchange is not finished (the password was not sent yet)`},
		{XOAuth2, Credentials{User: "u", Token: "tok-123456"}, oauthErr(XOAuth2),
			`invalid response "235 2.7.0 Authentication successful" to AUTH XOAUTH2: ` + afterErr},
		{OAuthBearer, Credentials{User: "u", Token: "tok-123456", Host: "h", Port: 587}, oauthErr(OAuthBearer),
			`invalid response "235 2.7.0 Authentication successful" to AUTH OAUTHBEARER: ` + afterErr},
	}
	for _, tc := range cases {
		t.Run(tc.mech, func(t *testing.T) {
			c, err := New(tc.mech, tc.creds)
			if err != nil {
				t.Fatal(err)
			}
			_, err = exchange(t, c, tc.auth)
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v\n want %s", err, tc.want)
			}
		})
	}
}

// A server echoing what the mechanism derived from the password (CRAM-MD5's
// digest alone, SCRAM's client proof and SASLprepped password) gets
// <redacted> into the transcript.
func TestDerivedSecretsRedacted(t *testing.T) {
	const challenge = "<1896.697170952@postoffice.reston.mci.net>"
	digest := CRAMMD5Digest("tanstaaftanstaaf", []byte(challenge))
	cram, _ := New(CRAMMD5, Credentials{User: "tim", Password: "tanstaaftanstaaf"})
	lines, err := exchange(t, cram, func(c *smtptest.FaultConn) {
		if _, err := c.Expect("AUTH CRAM-MD5"); err == nil && c.Send("334 "+b64(challenge)) == nil {
			_, _ = c.ReadLine()
			_ = c.Send("535 5.7.8 digest " + digest + " is wrong")
		}
	})
	checkRedacted(t, err, lines, "535 5.7.8 digest <redacted> is wrong", digest)

	v := scramVectors[1]
	sc, err := NewSCRAM(v.hash, v.mech, "user", "pencil", func() string { return v.nonce })
	if err != nil {
		t.Fatal(err)
	}
	_, proof, _ := strings.Cut(v.clientFinal, ",p=")
	lines, err = exchange(t, sc, func(c *smtptest.FaultConn) {
		if _, err := c.Expect("AUTH " + v.mech + " "); err == nil && c.Send("334 "+b64(v.serverFirst)) == nil {
			_, _ = c.ReadLine()
			_ = c.Send("535 5.7.8 proof " + proof + " rejected")
		}
	})
	checkRedacted(t, err, lines, "535 5.7.8 proof <redacted> rejected", proof)

	// The password as SASLprep maps it (the soft hyphen dropped) is what
	// the keys derive from, and a server may quote that form too.
	sc, err = NewSCRAM(v.hash, v.mech, "user", "pen\u00ADcil-and-paper", func() string { return v.nonce })
	if err != nil {
		t.Fatal(err)
	}
	lines, err = exchange(t, sc, func(c *smtptest.FaultConn) {
		if _, err := c.Expect("AUTH " + v.mech + " "); err == nil {
			_ = c.Send("535 5.7.8 password pencil-and-paper rejected")
		}
	})
	checkRedacted(t, err, lines, "535 5.7.8 password <redacted> rejected", "pencil-and-paper")
}

func checkRedacted(t *testing.T, err error, lines []string, want, secret string) {
	t.Helper()
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "S: "+want) {
		t.Errorf("transcript lacks %q:\n%s", "S: "+want, strings.Join(lines, "\n"))
	}
	for _, l := range append(lines, err.Error()) {
		if strings.Contains(l, secret) {
			t.Errorf("%q shows the secret", l)
		}
	}
}

// SASLprep's refusal says which credential, in words, without showing it.
func TestSASLprepRefusal(t *testing.T) {
	_, err := NewSCRAM(scram.SHA256, SCRAMSHA256, "user", "pass\ue000word", nil)
	want := "SCRAM-SHA-256: the password contains a character SCRAM does not allow (SASLprep, RFC 4013): use another mechanism with --mech, or change the password"
	if err == nil || err.Error() != want {
		t.Errorf("password: %v\nwant %s", err, want)
	}
	// Invalid UTF-8 (a password file in Latin-1) is named as such: another
	// character would not help.
	_, err = NewSCRAM(scram.SHA256, SCRAMSHA256, "user", "pass\xe9word", nil)
	want = "SCRAM-SHA-256: the password is not valid UTF-8, which SCRAM requires (RFC 5802): store it as UTF-8, or use another mechanism with --mech"
	if err == nil || err.Error() != want {
		t.Errorf("invalid UTF-8: %v\nwant %s", err, want)
	}
	_, err = NewSCRAM(scram.SHA1, SCRAMSHA1, "us\ue000er", "password", nil)
	want = "SCRAM-SHA-1: the user name contains a character SCRAM does not allow (SASLprep, RFC 4013): use another mechanism with --mech, or change the user name"
	if err == nil || err.Error() != want {
		t.Errorf("user: %v\nwant %s", err, want)
	}
}
