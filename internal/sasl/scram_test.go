package sasl

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
	"github.com/xdg-go/stringprep"
)

// Our client against xdg-go/scram's server (test-only peer), both hashes,
// with user names and passwords that SASLprep leaves alone, maps, or that
// need escaping: every pair authenticates and the server is verified.
func TestSCRAMDifferentialXDG(t *testing.T) {
	creds := []struct{ user, pass string }{
		{"user", "pencil"},
		{"mon@lab.test", "correct horse battery staple"},
		{"a=b,c", "p=w,d"},         // escaped in n=, not in the password
		{"jürgen", "pässwörd"},     // NFC already: SASLprep is the identity
		{"user", "I\u00ADX"},       // SOFT HYPHEN mapped to nothing
		{"user", "two\u00A0words"}, // NO-BREAK SPACE mapped to SPACE
		{"user", "\u2168"},         // ROMAN NUMERAL NINE: NFKC "IX"
		{"\uFF55\uFF53\uFF45\uFF52", "\uFF50\uFF41\uFF53\uFF53"}, // full-width: "user", "pass"
		{"\u00AAdmin", "\u00AA\u00BA"},                           // FEMININE/MASCULINE ORDINAL: "a", "o"
		{"ユーザー", "パスワード"},                                        // katakana, NFC already
		{"\u05D0\u05D1", "\u0627\u0644\u0633\u0631"},             // right-to-left names
		{"user", "p\u0061\u0308ss"},                              // decomposed ä: NFKC composes it
	}
	for _, tc := range []struct {
		mech string
		hash scram.HashGeneratorFcn
	}{{SCRAMSHA1, scram.SHA1}, {SCRAMSHA256, scram.SHA256}} {
		for _, cr := range creds {
			name := fmt.Sprintf("%s %+q %+q", tc.mech, cr.user, cr.pass)
			wantUser, err := stringprep.SASLprep.Prepare(cr.user)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			srv, err := tc.hash.NewServer(func(user string) (scram.StoredCredentials, error) {
				if user != wantUser {
					return scram.StoredCredentials{}, fmt.Errorf("unknown user %+q, want %+q", user, wantUser)
				}
				cl, err := tc.hash.NewClient(cr.user, cr.pass, "") // SASLprep by xdg-go
				if err != nil {
					return scram.StoredCredentials{}, err
				}
				return cl.GetStoredCredentials(scram.KeyFactors{Salt: "s\x00lt\xff", Iters: 4096}), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			conv := srv.NewConversation()
			c, err := New(tc.mech, Credentials{User: cr.user, Password: cr.pass})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			_, ir, _ := c.Start()
			s1, err := conv.Step(string(ir))
			if err != nil {
				t.Errorf("%s: server-first: %v", name, err)
				continue
			}
			c2, err := c.Next([]byte(s1))
			if err != nil {
				t.Errorf("%s: client-final: %v", name, err)
				continue
			}
			s2, err := conv.Step(string(c2))
			if err != nil {
				t.Errorf("%s: server refused: %q %v", name, s2, err)
				continue
			}
			if resp, err := c.Next([]byte(s2)); err != nil || len(resp) != 0 {
				t.Errorf("%s: server-final: %q %v", name, resp, err)
			}
			if o := c.Outcome(); !o.ServerVerified || !o.MutualAuth || o.ServerError != "" || !conv.Valid() {
				t.Errorf("%s: outcome %+v, server valid %t", name, o, conv.Valid())
			}
		}
	}
}

// client-first: the GS2 header, the escaped SASLprepped name, a random
// printable nonce of 32 characters that differs per conversation.
func TestSCRAMClientFirst(t *testing.T) {
	c, err := NewSCRAM(sha256.New, SCRAMSHA256, "a=b,c\u00AD", "pencil", func() string { return "NONCE" })
	if err != nil {
		t.Fatal(err)
	}
	if _, ir, _ := c.Start(); string(ir) != "n,,n=a=3Db=2Cc,r=NONCE" {
		t.Errorf("client-first %q", ir)
	}
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		c, _ := New(SCRAMSHA1, Credentials{User: "u", Password: "p"})
		_, ir, _ := c.Start()
		nonce, ok := strings.CutPrefix(string(ir), "n,,n=u,r=")
		if !ok || len(nonce) != 32 || !printable(nonce) || seen[nonce] {
			t.Fatalf("client-first %q: nonce not 32 fresh printable characters", ir)
		}
		seen[nonce] = true
	}
}

// A hostile or broken server-first-message is refused before any PBKDF2
// work, with a message that says what is wrong.
func TestSCRAMBadServerFirst(t *testing.T) {
	const n = "fyko+d2lbbFgONRv9qkxdawL"
	const bad = "SCRAM-SHA-1: bad server-first-message: "
	for _, tc := range []struct{ first, want string }{
		{"r=" + n + ",s=QSXCR+Q6sek8bf92,i=4096", ""}, // our nonce, not extended
		{"r=XXXX" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=4096", "the server's nonce does not extend ours"},
		{"r=" + n[:10] + ",s=QSXCR+Q6sek8bf92,i=4096", "the server's nonce does not extend ours"},
		{"r=" + n + "3rf\x01c,s=QSXCR+Q6sek8bf92,i=4096", "the server's nonce does not extend ours"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92!,i=4096", "the salt is not base64"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf9,i=4096", "the salt is not base64"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=0", "the server asks for 0 iterations, fewer than the 4096 RFC 7677 wants"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=4095", "the server asks for 4095 iterations, fewer than the 4096 RFC 7677 wants"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=1000001", "the server asks for 1000001 iterations, more than the 1000000 we compute"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=2147483648", "the server asks for 2147483648 iterations, more than the 1000000 we compute"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=99999999999999999999999", "the server asks for 99999999999999999999999 iterations, more than the 1000000 we compute"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=-4096", "the iteration count is not a number"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=+4096", "the iteration count is not a number"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=", "the iteration count is not a number"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=4096x", "the iteration count is not a number"},
		{"r=" + n + "3rfc,i=4096,s=QSXCR+Q6sek8bf92", "not r=nonce,s=salt,i=count"},
		{"r=" + n + "3rfc,s=QSXCR+Q6sek8bf92", "not r=nonce,s=salt,i=count"},
		{"", "not r=nonce,s=salt,i=count"},
		{"e=other-error", "not r=nonce,s=salt,i=count"},
		{"m=ext,r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=4096", "the server demands an extension (m=) SCRAM clients do not know"},
	} {
		if tc.want == "" {
			tc.want = "the server's nonce does not extend ours"
		}
		c, _ := NewSCRAM(sha1.New, SCRAMSHA1, "user", "pencil", func() string { return n })
		_, _, _ = c.Start()
		resp, err := c.Next([]byte(tc.first))
		if err == nil || err.Error() != bad+tc.want || resp != nil {
			t.Errorf("%q: %q %v\n want %s", tc.first, resp, err, bad+tc.want)
		}
		if o := c.Outcome(); o.ServerVerified || c.proof != "" {
			t.Errorf("%q: outcome %+v, proof %q", tc.first, o, c.proof)
		}
	}
	// Extensions after i= are allowed (RFC 5802 §7) and belong to the AuthMessage.
	c, _ := NewSCRAM(sha1.New, SCRAMSHA1, "user", "pencil", func() string { return n })
	_, _, _ = c.Start()
	if _, err := c.Next([]byte("r=" + n + "3rfc,s=QSXCR+Q6sek8bf92,i=4096,x=ext")); err != nil {
		t.Errorf("extension refused: %v", err)
	}
}

// server-final: a v= that is not exactly the server signature fails; e= is
// recorded and answered empty; extensions after v= are allowed.
func TestSCRAMServerFinal(t *testing.T) {
	v := scramVectors[0] // RFC 5802: v=rmF9pqV8S7suAoZWja4dJRkFsKQ=
	run := func(final string) (*SCRAMClient, []byte, error) {
		c, _ := NewSCRAM(v.hash, v.mech, "user", "pencil", func() string { return v.nonce })
		_, _, _ = c.Start()
		if _, err := c.Next([]byte(v.serverFirst)); err != nil {
			t.Fatal(err)
		}
		resp, err := c.Next([]byte(final))
		return c, resp, err
	}
	for _, final := range []string{
		"v=rmF9pqV8S7suAoZWja4dJRkFsKA=", // last bits differ
		"v=rmF9pqV8S7suAoZWja4dJRkF",     // truncated
		"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=AAAA",
		"v=rmF9pqV8S7suAoZWja4dJRkFsKQ",  // not base64 (padding)
		"V=rmF9pqV8S7suAoZWja4dJRkFsKQ=", // not v=
		"rmF9pqV8S7suAoZWja4dJRkFsKQ=",   // the signature without v=
		"x=1,v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		"v=",
		"",
	} {
		c, resp, err := run(final)
		if !errors.Is(err, ErrServerSignature) || resp != nil || c.Outcome().ServerVerified {
			t.Errorf("%q: %q %v, verified %t", final, resp, err, c.Outcome().ServerVerified)
		}
	}
	c, resp, err := run(v.serverFinal + ",x=ext")
	if err != nil || len(resp) != 0 || !c.Outcome().ServerVerified {
		t.Errorf("with extension: %q %v %+v", resp, err, c.Outcome())
	}
	c, resp, err = run("e=invalid-proof")
	if o := c.Outcome(); err != nil || resp == nil || len(resp) != 0 || o.ServerError != "e=invalid-proof" || o.ServerVerified || !o.MutualAuth {
		t.Errorf("e=: %q %v %+v", resp, err, o)
	}
	if _, err := c.Next([]byte("again")); err == nil || err.Error() != "unexpected SCRAM-SHA-1 challenge after the server's final message" {
		t.Errorf("third challenge: %v", err)
	}
}
