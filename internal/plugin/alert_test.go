package plugin_test

import (
	"crypto/tls"
	"net"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// TestTLSAlertAdvice: a handshake the server ended with an alert is
// advised by what the alert says; only handshake_failure (and a failure
// without an alert) is the "no common version or cipher" one.
func TestTLSAlertAdvice(t *testing.T) {
	const common = "the server and this client share no TLS version or cipher, or the server's TLS setup is broken"
	cases := []struct {
		err        error
		what, todo string
	}{
		{&net.OpError{Op: "remote error", Err: tls.AlertError(80)}, "internal error",
			"the server failed inside its own TLS setup, not over a version or cipher: look at its TLS log (an unreadable key or certificate file, a key that does not match the certificate)"},
		{&net.OpError{Op: "remote error", Err: tls.AlertError(40)}, "handshake failure", common},
		{&net.OpError{Op: "remote error", Err: tls.AlertError(112)}, "unrecognized name",
			"the server has no certificate for the name sent as SNI: give --sni-name with a name it serves"},
		{&net.OpError{Op: "remote error", Err: tls.AlertError(116)}, "certificate required",
			"the server wants a client certificate, which these plugins do not send"},
		{&net.OpError{Op: "remote error", Err: tls.AlertError(100)}, "no renegotiation",
			"the server ended the handshake with this alert: look at its TLS log"},
		{&net.OpError{Op: "remote error", Err: tls.AlertError(201)}, "alert(201)",
			"the server ended the handshake with this alert: look at its TLS log"},
		// crypto/tls's own verdict, no alert from the server.
		{&net.OpError{Op: "local error", Err: tls.AlertError(80)}, "local error: tls: internal error", common},
	}
	for _, tc := range cases {
		what, todo := plugin.Explain(&probe.Error{Phase: probe.PhaseStartTLS, Kind: probe.KindTLS, Err: tc.err}, nil, 0)
		if what != "TLS handshake failed: "+tc.what || todo != tc.todo {
			t.Errorf("%v:\n got %q, %q\nwant %q, %q", tc.err, what, todo, "TLS handshake failed: "+tc.what, tc.todo)
		}
	}
}
