package loadcheck

import (
	"net"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestPostfixDiscard loads the real Postfix of .ci/mailserver.sh through
// its submission port (STARTTLS, AUTH in every session) with a small run
// to a remote domain, which its default_transport discards: no mailbox
// grows, no DNS is asked.
func TestPostfixDiscard(t *testing.T) {
	env := plugintest.Postfix(t)
	host, port, _ := net.SplitHostPort(env["SUBMISSION"])
	r, out := runJSON(t, net.JoinHostPort(host, port), "-S", "--ca-file", env["CA"], "--verify-name", env["HOSTNAME"],
		"--user", env["USER"], "--password-ref", "file:"+env["PASSWORD_FILE"], "--from", env["USER"],
		"--messages", "40", "--sessions", "4", "--per-session", "5", "-v")
	// At most 5 per session: 8 sessions, or a few more where the last
	// ones at once shared the last messages.
	if out.Code != 0 || r.Items.Accepted != 40 || r.Items.Opened < 8 || r.Items.Opened > 11 {
		t.Fatalf("exit %d, %d accepted in %d sessions; want 0, 40 in 8 to 11:\n%s", out.Code, r.Items.Accepted, r.Items.Opened, out.Out)
	}
	for _, ph := range []string{"connect", "banner", "ehlo", "starttls", "ehlo_tls", "auth", "mail", "rcpt", "data", "message", Total} {
		r.phase(t, ph)
	}
	if strings.Contains(out.Out, env["PASSWORD"]) {
		t.Error("the password is in the output")
	}
}

// TestPostfixRelayDenied: on port 25 without AUTH Postfix refuses to
// relay: every message is rejected at RCPT, counted by its code.
func TestPostfixRelayDenied(t *testing.T) {
	env := plugintest.Postfix(t)
	r, out := runJSON(t, env["SMTP"], "--messages", "10", "--sessions", "2")
	if out.Code != 2 || r.Items.Rejected != 10 || r.Items.Accepted != 0 {
		t.Fatalf("exit %d, %d rejected, %d accepted; want 2, 10, 0:\n%s", out.Code, r.Items.Rejected, r.Items.Accepted, out.Out)
	}
	expectErrors(t, r, map[string]int{"5xx rcpt 554 5.7.1": 10})
	if !strings.HasPrefix(r.Summary, "no message accepted: 10 of 10 rejected: rcpt: \"554 5.7.1 <sink@load.test>: Relay access denied\"") {
		t.Errorf("summary %q", r.Summary)
	}
}
