package deliverycheck

import (
	"context"
	"net/netip"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/imapbox"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// TestPostfixSubmission sends one probe to the real Postfix on port 25
// (unauthenticated, to its local user): pipelined in two round trips,
// queued, and its queue id read from the reply. The probe is then taken
// out of the mailbox again over IMAP, where Dovecot serves it: CI checks
// that no probe is left behind.
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
	removeDelivered(t, env, tok.String())
	id := QueueID(final)
	if m := regexp.MustCompile(`queued as (\S+)$`).FindStringSubmatch(final.Text()); m == nil || m[1] != id {
		t.Errorf("queue id %q from %q", id, final)
	}
}

// removeDelivered waits for the probe with token to arrive over IMAPS and
// deletes it; without the IMAP of .ci/mailserver.sh it says so and leaves it.
func removeDelivered(t *testing.T, env map[string]string, token string) {
	t.Helper()
	if os.Getenv("SMTPCHECK_IMAPS_ADDR") == "" {
		t.Logf("no SMTPCHECK_IMAPS_ADDR: probe %s left in the mailbox", token)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	b := realBox(ctx, t, env)
	defer b.Close(ctx)
	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	seen, err := b.Wait(wait, imapbox.Query{Header: ProbeHeader, Token: token, NoJunk: true})
	if err != nil || !seen.Found {
		t.Fatalf("probe %s not delivered within 10 s: %v", token, err)
	}
	if _, err := b.Delete(ctx, seen.Folder, seen.UIDs); err != nil {
		t.Fatalf("deleting probe %s: %v", token, err)
	}
}
