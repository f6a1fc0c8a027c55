package sasl

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"hash"
	"strings"
	"testing"

	"github.com/xdg-go/scram"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// RFC 2195 §2: the example exchange.
func TestCRAMMD5RFC2195(t *testing.T) {
	c, err := New(CRAMMD5, Credentials{User: "tim", Password: "tanstaaftanstaaf"})
	if err != nil {
		t.Fatal(err)
	}
	mech, ir, err := c.Start()
	if mech != "CRAM-MD5" || ir != nil || err != nil {
		t.Fatalf("Start = %q %q %v", mech, ir, err)
	}
	resp, err := c.Next([]byte("<1896.697170952@postoffice.reston.mci.net>"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(resp), "tim b913a602c7eda7a495b4e6e7334d3890"; got != want {
		t.Errorf("response %q, want %q", got, want)
	}
	if _, err := c.Next([]byte("again")); err == nil {
		t.Error("a second challenge was answered")
	}
}

// scramVector is one SCRAM exchange from an RFC.
type scramVector struct {
	name, mech               string
	hash                     func() hash.Hash
	nonce                    string
	clientFirst, serverFirst string
	clientFinal, serverFinal string
}

var scramVectors = []scramVector{
	{ // RFC 5802 §5
		name: "RFC 5802", mech: SCRAMSHA1, hash: sha1.New, nonce: "fyko+d2lbbFgONRv9qkxdawL",
		clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
	},
	{ // RFC 7677 §3
		name: "RFC 7677", mech: SCRAMSHA256, hash: sha256.New, nonce: "rOprNGfwEbeRWgbNEkqO",
		clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
	},
}

func TestSCRAMVectors(t *testing.T) {
	for _, v := range scramVectors {
		t.Run(v.name, func(t *testing.T) {
			c, err := NewSCRAM(v.hash, v.mech, "user", "pencil", func() string { return v.nonce })
			if err != nil {
				t.Fatal(err)
			}
			mech, ir, err := c.Start()
			if err != nil || mech != v.mech || string(ir) != v.clientFirst {
				t.Fatalf("Start = %q %q %v, want %q %q", mech, ir, err, v.mech, v.clientFirst)
			}
			resp, err := c.Next([]byte(v.serverFirst))
			if err != nil || string(resp) != v.clientFinal {
				t.Fatalf("client-final %q %v, want %q", resp, err, v.clientFinal)
			}
			resp, err = c.Next([]byte(v.serverFinal))
			if err != nil || len(resp) != 0 {
				t.Fatalf("after server-final: %q %v", resp, err)
			}
			if o := c.Outcome(); !o.MutualAuth || !o.ServerVerified {
				t.Errorf("outcome %+v: server not verified", o)
			}
		})
	}
}

// A server-final with a wrong v= must fail the exchange.
func TestSCRAMWrongServerSignature(t *testing.T) {
	v := scramVectors[1]
	c, _ := NewSCRAM(v.hash, v.mech, "user", "pencil", func() string { return v.nonce })
	_, _, _ = c.Start()
	if _, err := c.Next([]byte(v.serverFirst)); err != nil {
		t.Fatal(err)
	}
	_, err := c.Next([]byte("v=" + strings.Repeat("A", 43) + "="))
	if !errors.Is(err, ErrServerSignature) {
		t.Errorf("err = %v, want ErrServerSignature", err)
	}
	if c.Outcome().ServerVerified {
		t.Error("verified a wrong signature")
	}
}

// The SCRAM client against xdg-go's server, both hashes, right and wrong password.
func TestSCRAMAgainstServer(t *testing.T) {
	for _, tc := range []struct {
		mech string
		hash scram.HashGeneratorFcn
	}{{SCRAMSHA1, scram.SHA1}, {SCRAMSHA256, scram.SHA256}} {
		for _, pass := range []string{"pencil", "wrong"} {
			srv, err := tc.hash.NewServer(func(user string) (scram.StoredCredentials, error) {
				cl, _ := tc.hash.NewClient(user, "pencil", "")
				return cl.GetStoredCredentials(scram.KeyFactors{Salt: "saltsalt", Iters: 4096}), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			conv := srv.NewConversation()
			c, err := New(tc.mech, Credentials{User: "user", Password: pass})
			if err != nil {
				t.Fatal(err)
			}
			_, ir, _ := c.Start()
			s1, err := conv.Step(string(ir))
			if err != nil {
				t.Fatal(err)
			}
			c2, err := c.Next([]byte(s1))
			if err != nil {
				t.Fatal(err)
			}
			s2, err := conv.Step(string(c2))
			if pass == "wrong" {
				if err == nil || !strings.HasPrefix(s2, "e=") {
					t.Fatalf("%s wrong password: server said %q %v", tc.mech, s2, err)
				}
				if _, err := c.Next([]byte(s2)); err != nil {
					t.Fatal(err)
				}
				if o := c.Outcome(); o.ServerError == "" || o.ServerVerified {
					t.Errorf("%s wrong password: outcome %+v", tc.mech, o)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Next([]byte(s2)); err != nil {
				t.Fatal(err)
			}
			if !c.Outcome().ServerVerified || !conv.Valid() {
				t.Errorf("%s: not valid on both sides", tc.mech)
			}
		}
	}
}

func TestXOAuth2(t *testing.T) {
	c, _ := New(XOAuth2, Credentials{User: "someuser@example.com", Token: "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"})
	mech, ir, _ := c.Start()
	// The example of Google's XOAUTH2 protocol page.
	want := "user=someuser@example.com\x01auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01"
	if mech != "XOAUTH2" || string(ir) != want {
		t.Errorf("Start = %q %q", mech, ir)
	}
	resp, err := c.Next([]byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`))
	if err != nil || len(resp) != 0 {
		t.Errorf("error challenge answered %q %v, want empty", resp, err)
	}
	if got := c.Outcome().ServerError; got != "status 401, scope https://mail.google.com/" {
		t.Errorf("server error %q", got)
	}
}

func TestOAuthBearer(t *testing.T) {
	c, _ := New(OAuthBearer, Credentials{User: "user@example.com", Token: "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==", Host: "server.example.com", Port: 587})
	mech, ir, _ := c.Start()
	// RFC 7628 §4.1, with the port of this session.
	want := "n,a=user@example.com,\x01host=server.example.com\x01port=587\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
	if mech != "OAUTHBEARER" || string(ir) != want {
		t.Errorf("Start = %q %q", mech, ir)
	}
	resp, err := c.Next([]byte(`{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}`))
	if err != nil || string(resp) != "\x01" {
		t.Errorf("error challenge answered %q %v, want %%x01", resp, err)
	}
	if got := c.Outcome().ServerError; got != "status invalid_token, scope example_scope" {
		t.Errorf("server error %q", got)
	}
}

func TestPlainAndLogin(t *testing.T) {
	c, _ := New(Plain, Credentials{User: "u", Password: "p"})
	if mech, ir, _ := c.Start(); mech != "PLAIN" || string(ir) != "\x00u\x00p" {
		t.Errorf("PLAIN Start = %q %q", mech, ir)
	}
	c, _ = New(Login, Credentials{User: "u", Password: "p"})
	if mech, ir, _ := c.Start(); mech != "LOGIN" || ir != nil {
		t.Errorf("LOGIN Start = %q %q", mech, ir)
	}
	a, _ := c.Next([]byte("Username:"))
	b, _ := c.Next([]byte("Password:"))
	if string(a) != "u" || string(b) != "p" {
		t.Errorf("LOGIN answers %q %q", a, b)
	}
}

func TestChoose(t *testing.T) {
	offered := []string{"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256"}
	if got := Choose(offered, PasswordMechs); got != SCRAMSHA256 {
		t.Errorf("auto picked %s", got)
	}
	if got := Choose([]string{"LOGIN", "PLAIN"}, PasswordMechs); got != Plain {
		t.Errorf("auto picked %s", got)
	}
	if got := Choose([]string{"LOGIN", "PLAIN", "OAUTHBEARER"}, TokenMechs); got != OAuthBearer {
		t.Errorf("auto picked %s", got)
	}
	if got := Choose([]string{"LOGIN"}, TokenMechs); got != "" {
		t.Errorf("auto picked %s", got)
	}
	if _, err := New("DIGEST-MD5", Credentials{}); err == nil {
		t.Error("unknown mechanism accepted")
	}
}

// Only the responses that carry no secret are public: LOGIN's user name
// (also through the wrapper New puts around it) and OAUTHBEARER's dummy.
func TestPublicResponses(t *testing.T) {
	public := func(c Client) bool {
		p, ok := c.(smtp.PublicResponder)
		return ok && p.PublicResponse()
	}
	login, _ := New(Login, Credentials{User: "u", Password: "p"})
	_, _, _ = login.Start()
	if _, _ = login.Next([]byte("Username:")); !public(login) {
		t.Error("LOGIN's user name is not public")
	}
	if _, _ = login.Next([]byte("Password:")); public(login) {
		t.Error("LOGIN's password is public")
	}
	bearer, _ := New(OAuthBearer, Credentials{User: "u", Token: "t", Host: "h", Port: 1})
	if _, _, _ = bearer.Start(); public(bearer) {
		t.Error("OAUTHBEARER's initial response is public")
	}
	if _, _ = bearer.Next([]byte(`{"status":"401"}`)); !public(bearer) {
		t.Error("OAUTHBEARER's dummy response is not public")
	}
	plain, _ := New(Plain, Credentials{User: "u", Password: "p"})
	if _, _, _ = plain.Start(); public(plain) {
		t.Error("PLAIN's initial response is public")
	}
}
