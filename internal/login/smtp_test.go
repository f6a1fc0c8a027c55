package login_test

import (
	"crypto/tls"
	"errors"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// TestWithhold: credentials go only over TLS that verifies, unless the
// command line allows plaintext or --insecure.
func TestWithhold(t *testing.T) {
	unverified := errors.New("x509: certificate signed by unknown authority")
	cases := []struct {
		name      string
		s         probe.Session
		plaintext bool
		want      login.Refusal
	}{
		{"verified TLS", probe.Session{TLS: &tls.ConnectionState{}}, false, login.RefuseNone},
		{"no STARTTLS offered", probe.Session{NoStartTLS: true}, false, login.RefuseNoStartTLS},
		{"no STARTTLS offered, plaintext allowed", probe.Session{NoStartTLS: true}, true, login.RefuseNone},
		{"--no-tls", probe.Session{}, false, login.RefuseNoTLS},
		{"--no-tls --allow-plaintext", probe.Session{}, true, login.RefuseNone},
		{"unverified", probe.Session{TLS: &tls.ConnectionState{}, VerifyErr: unverified}, true, login.RefuseUnverified},
		{"unverified, --insecure", probe.Session{TLS: &tls.ConnectionState{}, VerifyErr: unverified, Target: probe.Target{Insecure: true}}, false, login.RefuseNone},
	}
	for _, c := range cases {
		if got := login.Withhold(&c.s, c.plaintext); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
