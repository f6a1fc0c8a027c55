package deliverycheck

import (
	"context"
	"net/netip"
	"regexp"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// TestPostfixSubmission sends one probe to the real Postfix on port 25
// (unauthenticated, to its local user): pipelined in two round trips,
// queued, and its queue id read from the reply. The probe is left in the
// mailbox under the instance "smtpcheck-wire-test".
func TestPostfixSubmission(t *testing.T) {
	env := plugintest.Postfix(t)
	ap := netip.MustParseAddrPort(env["SMTP"])
	tok, err := NewToken("smtpcheck-wire-test")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := NewMessage(MessageSpec{From: env["USER"], To: []string{env["USER"]}, Token: tok, Date: time.Now(), Size: 200 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var sub *probe.Submission
	plan := probe.Plan{Target: probe.Target{Host: ap.Addr().String(), Port: int(ap.Port()), HeloName: "probe.smtpcheck.test"},
		Steps: func(ctx context.Context, s *probe.Session) error {
			sub, err = s.Submit(ctx, probe.Envelope{From: env["USER"], To: []string{env["USER"]}, Params: msg.Params}, msg.Bytes, probe.SubmitOptions{})
			return err
		}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := probe.Run(ctx, plan)
	if out.Err != nil || out.QuitErr != nil {
		t.Fatalf("err %v, quit %v\n%s", out.Err, out.QuitErr, out.S.Transcript.Lines())
	}
	final, ok := sub.Final()
	if !ok || !sub.Pipelined || sub.RoundTrips != 2 {
		t.Fatalf("final %v (%v), pipelined %v, round trips %d", final, ok, sub.Pipelined, sub.RoundTrips)
	}
	id := QueueID(final)
	if m := regexp.MustCompile(`queued as (\S+)$`).FindStringSubmatch(final.Text()); m == nil || m[1] != id {
		t.Errorf("queue id %q from %q", id, final)
	}
}
