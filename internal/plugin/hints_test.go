package plugin_test

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// TestHintByPhase: a 5.7.1 or a bare 554 refuses the client at the
// greeting or MAIL, but the message after its final dot.
func TestHintByPhase(t *testing.T) {
	const (
		relay   = "the server refuses this client or relay: check its access rules"
		policy  = "the server rejected the message by policy (spam or content filter): look at its log for the reason"
		service = "the server refuses service to this client: check its access rules and blocklists"
		message = "the server rejected the message (content filter, virus scan or policy): look at its log for the reason"
	)
	cases := []struct {
		phase    probe.Phase
		code     int
		enhanced string
		want     string
	}{
		{probe.PhaseBanner, 554, "5.7.1", relay},
		{probe.PhaseMail, 550, "5.7.1", relay},
		{probe.PhaseRcpt, 554, "5.7.1", relay},
		{probe.PhaseMessage, 554, "5.7.1", policy},
		{probe.PhaseMessage, 550, "5.7.1", policy},
		{probe.PhaseBanner, 554, "", service},
		{probe.PhaseMessage, 554, "", message},
		{probe.PhaseMessage, 554, "5.6.0", message},
		{probe.PhaseMessage, 550, "5.1.1", "the recipient does not exist on this server"}, // falls through to the common table
		{probe.PhaseMessage, 452, "4.3.1", "the server is short of storage or limits recipients"},
		{probe.PhaseMessage, 535, "5.7.8", ""}, // a login's advice only for AUTH
		{probe.PhaseMessage, 250, "2.0.0", ""},
	}
	for _, c := range cases {
		r := smtp.Reply{Code: c.code, Enhanced: c.enhanced, Lines: []string{c.enhanced + " text"}}
		if got := plugin.Hint(c.phase, r); got != c.want {
			t.Errorf("%s %d %s: %q, want %q", c.phase, c.code, c.enhanced, got, c.want)
		}
	}
}
