package login_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// TestRefusalJudge: each reason for withholding credentials gets its
// state and its advice, the same in every plugin that logs in.
func TestRefusalJudge(t *testing.T) {
	target := probe.Target{Host: "mx.example", Port: 587}
	unknownCA := errors.New("x509: certificate signed by unknown authority")
	roots := &probe.RootsError{Err: errors.New("open /etc/ssl/certs: permission denied")}
	cases := []struct {
		name  string
		r     login.Refusal
		s     probe.Session
		state plugin.State
		text  string
	}{
		{"no STARTTLS", login.RefuseNoStartTLS, probe.Session{Target: target, NoStartTLS: true}, plugin.Critical,
			"credentials not sent: mx.example:587 does not offer STARTTLS - enable TLS on the server, use -s if the port speaks implicit TLS, or add --allow-plaintext to send them unencrypted"},
		{"--no-tls", login.RefuseNoTLS, probe.Session{Target: target}, plugin.Unknown,
			"credentials not sent: --no-tls leaves the connection unencrypted - add --allow-plaintext to send them anyway, or drop --no-tls"},
		{"unverified", login.RefuseUnverified, probe.Session{Target: target, TLS: &tls.ConnectionState{}, VerifyErr: unknownCA}, plugin.Critical,
			"credentials not sent: the certificate of mx.example:587 does not verify (x509: certificate signed by unknown authority) - look at the certificate with check_smtp_tls, or add --insecure to send them anyway"},
		{"roots unreadable", login.RefuseUnverified, probe.Session{Target: target, TLS: &tls.ConnectionState{}, VerifyErr: roots}, plugin.Unknown,
			"tls: cannot read the system roots: open /etc/ssl/certs: permission denied - repair this host's CA store (ca-certificates, $SSL_CERT_FILE, $SSL_CERT_DIR) or give --ca-file; credentials not sent"},
	}
	for _, c := range cases {
		state, text := c.r.Judge(&c.s, "")
		if state != c.state || text != c.text {
			t.Errorf("%s:\n got %v %q\nwant %v %q", c.name, state, text, c.state, c.text)
		}
	}
}

// TestCredState: a secret store that times out is -t's state, any other
// failure to get the credentials UNKNOWN.
func TestCredState(t *testing.T) {
	timeout := plugin.Timeout{State: plugin.Warning}
	if got := login.CredState(fmt.Errorf("vault: %w", context.DeadlineExceeded), timeout); got != plugin.Warning {
		t.Errorf("timed out: %v, want WARNING (-t's state)", got)
	}
	if got := login.CredState(errors.New("vault: permission denied"), timeout); got != plugin.Unknown {
		t.Errorf("refused: %v, want UNKNOWN", got)
	}
}
