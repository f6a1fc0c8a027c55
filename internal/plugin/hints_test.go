package plugin_test

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// TestHintByPhase: one code means different things in different phases,
// and a login's codes mean nothing outside AUTH.
func TestHintByPhase(t *testing.T) {
	const (
		access  = "the server refuses this client, sender or relay by policy: check its access rules and blocklists"
		policy  = "the server rejected the message by policy (spam or content filter): look at its log for the reason"
		service = "the server refuses service to this client: check its access rules and blocklists"
		message = "the server rejected the message (content filter, virus scan or policy): look at its log for the reason"
		sender  = "the sender address is not allowed for this client or login"
	)
	cases := []struct {
		phase    probe.Phase
		code     int
		enhanced string
		want     string
	}{
		{probe.PhaseBanner, 554, "5.7.1", service},
		{probe.PhaseMail, 550, "5.7.1", sender},
		{probe.PhaseRcpt, 554, "5.7.1", access}, // "5.7.1 text": no word of relaying
		{probe.PhaseMessage, 554, "5.7.1", policy},
		{probe.PhaseMessage, 550, "5.7.1", policy},
		{probe.PhaseBanner, 554, "", service},
		{probe.PhaseMail, 554, "5.7.0", service},
		{probe.PhaseMessage, 554, "", message},
		{probe.PhaseMessage, 554, "5.6.0", message},
		{probe.PhaseMessage, 550, "5.1.1", "the recipient does not exist on this server"}, // LMTP refuses recipients after the dot
		{probe.PhaseMessage, 452, "4.3.1", "the server is short of storage or limits recipients"},
		{probe.PhaseMessage, 535, "5.7.8", ""}, // a login's advice only for AUTH
		{probe.PhaseMail, 534, "5.7.9", ""},
		{probe.PhaseRcpt, 538, "", ""},
		{probe.PhaseAuth, 504, "5.5.4", "the server does not support this mechanism: pick one it offers with -A"},
		{probe.PhaseRcpt, 504, "5.5.2", "the server wants a fully-qualified host name in EHLO: give one with -F"},
		{probe.PhaseRcpt, 504, "", ""},
		{probe.PhaseStartTLS, 454, "4.7.0", "the server cannot start TLS now (often an unreadable certificate or key): look at its TLS log"},
		{probe.PhaseAuth, 454, "4.7.0", "temporary authentication failure: the server's authentication backend is down or slow, look at its log"},
		{probe.PhaseMessage, 250, "2.0.0", ""},
		{probe.PhaseRset, 500, "5.5.1", ""},
	}
	for _, c := range cases {
		r := smtp.Reply{Code: c.code, Enhanced: c.enhanced, Lines: []string{c.enhanced + " text"}}
		if got := plugin.Hint(c.phase, r, nil); got != c.want {
			t.Errorf("%s %d %s: %q, want %q", c.phase, c.code, c.enhanced, got, c.want)
		}
	}
}

// TestHintRelayEvidence: the word relay in a bare 550 to RCPT makes it a
// relay refusal, but not as part of an address or a host name.
func TestHintRelayEvidence(t *testing.T) {
	const (
		relay   = "the server does not relay for this client: send to a domain it serves, or log in (-A/-U/-P) to relay"
		unknown = "the recipient does not exist on this server"
	)
	for text, want := range map[string]string{
		"relay not permitted": relay,
		"Unable to relay.":    relay,
		"Relaying denied. Proper authentication required.": relay,
		"<relay@example.org>: unknown user":                unknown,
		"unknown user (relay.example.org)":                 unknown,
		"Unrouteable address":                              unknown,
		"relayhost unknown":                                unknown,
	} {
		r := smtp.Reply{Code: 550, Lines: []string{text}}
		if got := plugin.Hint(probe.PhaseRcpt, r, nil); got != want {
			t.Errorf("550 %s: %q, want %q", text, got, want)
		}
	}
}
