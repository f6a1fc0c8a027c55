package plugin_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

func TestFailureState(t *testing.T) {
	reply := func(code int) *smtp.Reply { return &smtp.Reply{Code: code, Lines: []string{"x"}} }
	tmo := plugin.Timeout{Duration: time.Second, State: plugin.Critical}
	tmoUnknown := plugin.Timeout{Duration: time.Second, State: plugin.Unknown}
	cases := []struct {
		name string
		e    *probe.Error
		t    plugin.Timeout
		want plugin.State
	}{
		{"timeout", &probe.Error{Phase: probe.PhaseBanner, Kind: probe.KindTimeout, Err: context.DeadlineExceeded}, tmo, plugin.Critical},
		{"timeout with -t N:UNKNOWN", &probe.Error{Phase: probe.PhaseAuth, Kind: probe.KindTimeout, Err: context.DeadlineExceeded}, tmoUnknown, plugin.Unknown},
		{"usage", &probe.Error{Phase: probe.PhaseCommand, Kind: probe.KindUsage, Err: smtp.ErrInjection}, tmo, plugin.Unknown},
		{"421 greeting", &probe.Error{Phase: probe.PhaseBanner, Kind: probe.KindReply, Reply: reply(421)}, tmo, plugin.Critical},
		{"451 to EHLO", &probe.Error{Phase: probe.PhaseEHLO, Kind: probe.KindReply, Reply: reply(451)}, tmo, plugin.Critical},
		{"454 to STARTTLS", &probe.Error{Phase: probe.PhaseStartTLS, Kind: probe.KindReply, Reply: reply(454)}, tmo, plugin.Critical},
		{"421 to EHLO inside TLS", &probe.Error{Phase: probe.PhaseEHLOTLS, Kind: probe.KindReply, Reply: reply(421)}, tmo, plugin.Critical},
		{"454 to AUTH", &probe.Error{Phase: probe.PhaseAuth, Kind: probe.KindReply, Reply: reply(454)}, tmo, plugin.Warning},
		{"421 to AUTH: the server closes the session", &probe.Error{Phase: probe.PhaseAuth, Kind: probe.KindReply, Reply: reply(421)}, tmo, plugin.Critical},
		{"421 to RCPT", &probe.Error{Phase: probe.PhaseRcpt, Kind: probe.KindReply, Reply: reply(421)}, tmo, plugin.Critical},
		{"451 to MAIL", &probe.Error{Phase: probe.PhaseMail, Kind: probe.KindReply, Reply: reply(451)}, tmo, plugin.Warning},
		{"450 to RCPT", &probe.Error{Phase: probe.PhaseRcpt, Kind: probe.KindReply, Reply: reply(450)}, tmo, plugin.Warning},
		{"535 to AUTH", &probe.Error{Phase: probe.PhaseAuth, Kind: probe.KindReply, Reply: reply(535)}, tmo, plugin.Critical},
		{"550 to RCPT", &probe.Error{Phase: probe.PhaseRcpt, Kind: probe.KindReply, Reply: reply(550)}, tmo, plugin.Critical},
		{"451 after the final dot", &probe.Error{Phase: probe.PhaseMessage, Kind: probe.KindReply, Reply: reply(451)}, tmo, plugin.Warning},
		{"452 to DATA", &probe.Error{Phase: probe.PhaseData, Kind: probe.KindReply, Reply: reply(452)}, tmo, plugin.Warning},
		{"554 after the final dot", &probe.Error{Phase: probe.PhaseMessage, Kind: probe.KindReply, Reply: reply(554)}, tmo, plugin.Critical},
		{"421 after the final dot", &probe.Error{Phase: probe.PhaseMessage, Kind: probe.KindReply, Reply: reply(421)}, tmo, plugin.Critical},
		{"refused", &probe.Error{Phase: probe.PhaseConnect, Kind: probe.KindRefused, Err: errors.New("refused")}, tmo, plugin.Critical},
		{"DNS", &probe.Error{Phase: probe.PhaseDNS, Kind: probe.KindResolve, Err: errors.New("no such host")}, tmo, plugin.Critical},
		{"reset", &probe.Error{Phase: probe.PhaseEHLO, Kind: probe.KindReset, Err: errors.New("reset")}, tmo, plugin.Critical},
		{"TLS", &probe.Error{Phase: probe.PhaseTLS, Kind: probe.KindTLS, Err: errors.New("bad certificate")}, tmo, plugin.Critical},
		{"protocol in AUTH", &probe.Error{Phase: probe.PhaseAuth, Kind: probe.KindProtocol, Err: errors.New("malformed")}, tmo, plugin.Critical},
	}
	for _, tc := range cases {
		if got := plugin.FailureState(tc.e, tc.t); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
