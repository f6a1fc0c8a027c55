package deliverycheck

import (
	"context"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/imapbox"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
)

// TestRealRoundTrips: the plugin against the real Postfix + Dovecot of
// .ci/mailserver.sh, as it is deployed: submission on 587 (STARTTLS +
// AUTH) found over IMAPS 993; submissions on 465 found over IMAP STARTTLS
// 143; unauthenticated on 25 to the local mailbox. Every run leaves no
// probe of its instance behind (the next run's sweep would say stale).
func TestRealRoundTrips(t *testing.T) {
	env := plugintest.Postfix(t)
	if os.Getenv("SMTPCHECK_IMAP") != "1" {
		t.Skip("Dovecot's IMAP is not up (SMTPCHECK_IMAP)")
	}
	host := func(k string) (string, string) {
		h, p, _ := net.SplitHostPort(env[k])
		return h, p
	}
	tls := []string{"--ca-file", env["CA"], "--verify-name", env["HOSTNAME"], "--state-dir", t.TempDir(), "-t", "20"}
	login := []string{"--user", env["USER"], "--password-ref", "file:" + env["PASSWORD_FILE"]}
	probe := []string{"--from", env["USER"], "--to", env["USER"]}
	h587, p587 := host("SUBMISSION")
	h465, p465 := host("SUBMISSIONS")
	h25, p25 := host("SMTP")
	cases := []struct {
		name string
		args []string
	}{
		{"587+993", append([]string{"-H", h587, "-p", p587, "--instance", "real-587"}, login...)},
		{"465+143", append([]string{"-H", h465, "-p", p465, "--imap-port", "143", "--instance", "real-465"}, login...)},
		{"25 without AUTH", []string{"-H", h25, "-p", p25, "--imap-user", env["USER"], "--imap-password-ref", "file:" + env["PASSWORD_FILE"], "--instance", "real-25"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(append(append([]string{}, c.args...), probe...), tls...)
			out := plugintest.Run(t, Name, Service, &Options{}, Check, args...)
			if out.Code != 0 || !strings.HasPrefix(out.Status(), "SMTP DELIVERY OK - probe delivered to INBOX in T s") {
				t.Fatalf("exit %d:\n%s", out.Code, out.Out)
			}
			out.Contains(t, "queue id: ", "cleanup: UID ", "deleted from INBOX (UID EXPUNGE)")
			// --imap-only logs in and finds nothing late or stale.
			again := plugintest.Run(t, Name, Service, &Options{}, Check, append(append([]string{"--imap-only"}, c.args...), tls...)...)
			if again.Code != 0 || strings.Contains(again.Out, "stale:") || strings.Contains(again.Out, "late:") {
				t.Errorf("--imap-only after the run:\n%s", again.Out)
			}
			// And the mailbox holds no probe of the instance.
			instance := c.args[slices.Index(c.args, "--instance")+1]
			if left := realProbes(t, env, instance); len(left) != 0 {
				t.Errorf("probes left in INBOX: %+v", left)
			}
		})
	}
}

// TestRealJunk: with the lab's Sieve rule (a probe carrying X-Lab-Junk:
// yes is filed into Junk by Dovecot LMTP), the probe is found in the
// SPECIAL-USE \Junk folder: WARNING naming it, and deleted there.
func TestRealJunk(t *testing.T) {
	env := plugintest.Postfix(t)
	if os.Getenv("SMTPCHECK_IMAP") != "1" || os.Getenv("SMTPCHECK_SIEVE_JUNK") != "1" {
		t.Skip("Dovecot's IMAP with the Sieve Junk rule is not up (SMTPCHECK_IMAP, SMTPCHECK_SIEVE_JUNK)")
	}
	h, p, _ := net.SplitHostPort(env["SUBMISSION"])
	args := []string{"-H", h, "-p", p, "--instance", "real-junk", "--user", env["USER"], "--password-ref", "file:" + env["PASSWORD_FILE"],
		"--from", env["USER"], "--to", env["USER"], "--ca-file", env["CA"], "--verify-name", env["HOSTNAME"], "--state-dir", t.TempDir(), "-t", "20"}
	out := plugintest.Run(t, Name, Service, &Options{extraHeaders: []string{"X-Lab-Junk: yes"}}, Check, args...)
	if out.Code != 1 || !strings.HasPrefix(out.Status(), `SMTP DELIVERY WARNING - probe delivered to the Junk folder "Junk", not INBOX, in T s; queue id `) {
		t.Fatalf("exit %d:\n%s", out.Code, out.Out)
	}
	out.Contains(t, "found: Junk UID ", "deleted from Junk (UID EXPUNGE)")
	for _, folder := range []string{imapbox.Inbox, "Junk"} {
		if left := realProbes(t, env, "real-junk", folder); len(left) != 0 {
			t.Errorf("probes left in %s: %+v", folder, left)
		}
	}
}

// realProbes lists the probes of instance in a folder of Dovecot's
// mailbox (INBOX when none is given).
func realProbes(t *testing.T, env map[string]string, instance string, folder ...string) []imapbox.StaleProbe {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := realBox(ctx, t, env)
	defer b.Close(ctx)
	f := imapbox.Inbox
	if len(folder) > 0 {
		f = folder[0]
	}
	ps, err := b.Stale(ctx, f, ProbeHeader, instance, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// realBox logs in to Dovecot's IMAPS as the test user, verifying its
// certificate against the test CA.
func realBox(ctx context.Context, t *testing.T, env map[string]string) *imapbox.Box {
	t.Helper()
	roots, err := probe.LoadRoots(ctx, "--ca-file", env["CA"])
	if err != nil {
		t.Fatal(err)
	}
	h, p, _ := net.SplitHostPort(os.Getenv("SMTPCHECK_IMAPS_ADDR"))
	port, _ := strconv.Atoi(p)
	b, err := imapbox.Dial(ctx, imapbox.Config{Target: probe.Target{Host: h, Port: port, TLS: probe.TLSImplicit, VerifyName: env["HOSTNAME"], Roots: roots}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Login(ctx, sasl.Credentials{User: env["USER"], Password: env["PASSWORD"]}, "", false); err != nil {
		b.Close(ctx)
		t.Fatal(err)
	}
	return b
}
