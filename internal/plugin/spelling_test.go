package plugin_test

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// TestHintSpelling: the advice names the login, mechanism and sender
// options as the plugin spells them, and none where it has none.
func TestHintSpelling(t *testing.T) {
	load := plugin.Spelling{Login: "--user and --password-ref", Mech: "--mech", From: "--from", Timeout: "--session-timeout"}
	none := plugin.Spelling{Timeout: "-t"} // check_smtp_security: no login, no --from
	relay := smtp.Reply{Code: 550, Lines: []string{"relay not permitted"}}
	mech := smtp.Reply{Code: 504, Enhanced: "5.5.4", Lines: []string{"5.5.4 unrecognized"}}
	sender := smtp.Reply{Code: 550, Lines: []string{"sender unknown"}}
	login := smtp.Reply{Code: 530, Enhanced: "5.7.0", Lines: []string{"5.7.0 Authentication required"}}
	for _, c := range []struct {
		sp    plugin.Spelling
		phase probe.Phase
		r     smtp.Reply
		s     *probe.Session
		want  string
	}{
		{load, probe.PhaseRcpt, relay, plainAuth, "the server does not relay for this client: send to a domain it serves, or log in (--user and --password-ref) to relay"},
		{none, probe.PhaseRcpt, relay, plainAuth, "the server does not relay for this client: send to a domain it serves, or log in to relay"},
		{load, probe.PhaseAuth, mech, inTLS, "the server does not support this mechanism: pick one it offers with --mech"},
		{none, probe.PhaseAuth, mech, inTLS, "the server does not support this mechanism: pick one it offers"},
		{load, probe.PhaseMail, sender, bare, "the server refuses this sender: check the sender address (--from) and the server's sender rules"},
		{none, probe.PhaseMail, sender, bare, "the server refuses this sender: check the sender address and the server's sender rules"},
		{load, probe.PhaseMail, login, inTLS, "the server wants a login first: add --user and --password-ref, or use check_smtp_auth"},
		{none, probe.PhaseMail, login, inTLS, "the server wants a login first: check_smtp_auth tests one"},
		{load, probe.PhaseMail, login, plainAuth, "the server wants a login first: add --user and --password-ref, with -S so that the password travels inside TLS"},
		{none, probe.PhaseMail, login, plainAuth, "the server wants a login first, inside TLS: check_smtp_auth -S tests one"},
	} {
		if got := c.sp.Hint(c.phase, c.r, c.s); got != c.want {
			t.Errorf("%+v %s %d: %q, want %q", c.sp, c.phase, c.r.Code, got, c.want)
		}
	}
	e := &probe.Error{Phase: probe.PhaseMail, Kind: probe.KindTimeout}
	if _, todo := load.Explain(e, bare, 0); todo != "the server is slow or stuck; raise --session-timeout if this is expected" {
		t.Errorf("timeout advice %q", todo)
	}
	if _, todo := plugin.Explain(e, bare, 0); todo != "the server is slow or stuck; raise -t if this is expected" {
		t.Errorf("check_smtp_conn's timeout advice %q", todo)
	}
}
