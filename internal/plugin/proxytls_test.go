package plugin_test

import (
	"errors"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// TestExplainProxyBeforeTLS: on an implicit-TLS port a PROXY header the
// server does not expect ends the handshake before any certificate (Exim:
// unexpected_message, Postfix: a reset); the advice names the header first.
// Once a certificate came, the header was understood.
func TestExplainProxyBeforeTLS(t *testing.T) {
	const proxy = "the server may not expect the PROXY header sent before TLS: drop -r (--proxy-version), or have it expect one; else "
	reset := &probe.Error{Phase: probe.PhaseTLS, Kind: probe.KindReset, Err: errors.New("reset")}
	withProxy := &probe.Session{Target: probe.Target{Proxy: 1, TLS: probe.TLSImplicit}}
	certSeen := &probe.Session{Target: probe.Target{Proxy: 2, TLS: probe.TLSImplicit}, CertVersion: 0x0304}
	noProxy := &probe.Session{Target: probe.Target{TLS: probe.TLSImplicit}}
	const resetAdvice = "look at the server's log; a firewall or a crashed process may drop it"
	for _, tc := range []struct {
		name string
		e    *probe.Error
		s    *probe.Session
		want string
	}{
		{"-r, reset before a certificate", reset, withProxy, proxy + resetAdvice},
		{"-r, after the certificate", reset, certSeen, resetAdvice},
		{"no -r", reset, noProxy, resetAdvice},
		{"-r, STARTTLS phase", &probe.Error{Phase: probe.PhaseStartTLS, Kind: probe.KindReset, Err: errors.New("reset")}, withProxy, resetAdvice},
	} {
		if _, got := plugin.Explain(tc.e, tc.s, time.Second); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
