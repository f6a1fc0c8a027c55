package securitycheck

import (
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestInjectionLate: a server that runs the NOOP pipelined with STARTTLS
// but answers it only after the probe's wait is no less vulnerable: its
// answer is read as the EHLO's reply, and the EHLO's own comes second.
func TestInjectionLate(t *testing.T) {
	l := start(t, &smtptest.Policy{Injectable: true, InjectDelay: 1500 * time.Millisecond}, true)
	got, out := items(t, l.args("mx", "--only", "injection")...)
	if out.Code != 2 {
		t.Errorf("exit %d, want 2:\n%s", out.Code, out.Out)
	}
	expectItems(t, map[string]Verdict{"injection": got["injection"]}, map[string]want{
		"injection": {"CRITICAL", "a NOOP sent in clear text with STARTTLS was answered inside TLS (before the reply to EHLO)", []string{
			`STARTTLS + NOOP in one write -> "220 2.0.0 Ready to start TLS"`,
			`EHLO inside TLS was answered twice: "250 2.0.0 Ok", then "250 policy.test"`}},
	})
}

// TestVRFYSyntax: a refusal of the random name's syntax (Exim: 501, no
// domain) is not "no such user": no enumeration.
func TestVRFYSyntax(t *testing.T) {
	l := start(t, &smtptest.Policy{VRFY: "exim"}, true)
	got, out := items(t, l.args("mx", "--only", "vrfy")...)
	if out.Code != 0 {
		t.Errorf("exit %d, want 0:\n%s", out.Code, out.Out)
	}
	expectItems(t, map[string]Verdict{"vrfy": got["vrfy"]}, map[string]want{
		"vrfy": {"OK", "VRFY tells nothing", []string{`VRFY postmaster -> "252 Administrative prohibition"`, `: recipient address must contain a domain"`}},
	})
}

// TestRateProbeDown: a server that takes no connection at all is down,
// not rate-limiting.
func TestRateProbeDown(t *testing.T) {
	port := closedPort(t)
	out := check(t, "-H", "127.0.0.1", "-p", port, "--no-tls", "--only", "rate_limit", "--rate-probe", "3")
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - connect: connection refused (127.0.0.1:"+port+") - is the MTA running and listening on this address and port? (not asked: rate_limit)")
	out.Contains(t, "[CRITICAL] rate_limit: could not ask: connect: connection refused", "'passed'=0;;;0;")
}

// TestNothingToRun: --only and --skip that leave nothing are a usage
// error, not an OK that asked nothing.
func TestNothingToRun(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status string
	}{
		{[]string{"--only", "vrfy", "--skip", "vrfy"}, "SMTP SECURITY UNKNOWN - --only and --skip leave no sub-check to run for --role mx (see check_smtp_security --help)"},
		{[]string{"--only", " , "}, `SMTP SECURITY UNKNOWN - --only " , ": name at least one sub-check (known: starttls, tls_required, auth_plain, auth_relay, open_relay, vrfy, expn, rcpt_enum, injection, banner, weak_tls, rate_limit, smuggling, mx, spf, dmarc, mta_sts, tls_rpt, tlsa) (see check_smtp_security --help)`},
	} {
		out := check(t, append([]string{"-H", "192.0.2.1"}, c.args...)...)
		out.Expect(t, 3, c.status)
	}
}

// TestGreylist: a relay attempt answered 4xx is deferred, not refused: a
// greylisting open relay takes it on the next try, so no OK.
func TestGreylist(t *testing.T) {
	l := start(t, &smtptest.Policy{Greylist: true, OpenRelay: true}, true)
	out := check(t, l.args("mx", "--only", "open_relay")...)
	out.Expect(t, 1, "SMTP SECURITY WARNING - open_relay: inconclusive: plain, null sender, local sender and 9 more of 12 variants answered only 4xx (try again later): "+
		"greylisting or a failed lookup hides whether it would relay them; run again later, or exempt this client from greylisting")
	out.Contains(t, `plain: RCPT TO:<relay-test@example.net> -> "450 4.2.0 <relay-test@example.net>: Recipient address rejected: Greylisted"`)
	l.noData(t)
}

// closedPort is a port of 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestRateProbeTarpit: a server that stops greeting after two quick
// connections holds the probe to its half of -t, and is no OK; one that
// greets nobody is a failure, not "no limit seen".
func TestRateProbeTarpit(t *testing.T) {
	var n atomic.Int32
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		if n.Add(1) > 2 {
			c.Hang()
			return
		}
		if c.Greet() != nil || c.EHLO() != nil {
			return
		}
		_, _ = c.ReadLine()
	})
	out := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "--no-tls", "--only", "rate_limit", "--rate-probe", "5", "-t", "2")
	out.Expect(t, 1, "SMTP SECURITY WARNING - rate_limit: inconclusive: no rate limiting seen in 2 of 5 connections, then connection 3 got no answer within half of -t: the server is slow, or delays quick clients (a limit of sorts)")
	if out.Elapsed > 1500*time.Millisecond {
		t.Errorf("the probe took %v, more than half of -t 2 (+0.5 s)", out.Elapsed)
	}
	out = check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "--no-tls", "--only", "rate_limit", "--rate-probe", "5", "-t", "2")
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - banner: no answer within the 1 s timeout (127.0.0.1:"+strconv.Itoa(srv.Port)+") - the server is overloaded or tarpitting, or this port wants implicit TLS (-s) (not asked: rate_limit)")
}

// TestSoftwareInHostName: a host name that holds an MTA's name discloses
// nothing; the name and version further on do.
func TestSoftwareInHostName(t *testing.T) {
	for text, want := range map[string]string{
		"mail.exim.example ESMTP Exim 4.96 Fri, 04 Dec 2026 12:19:49 +0000": "Exim 4.96",
		"postfix.example.org ESMTP ready":                                   "",
		"mx.example.org ESMTP Postfix (Debian/GNU)":                         "Postfix",
		"mx.example.org ESMTP Sendmail 8.15.2/8.15.2; Fri, 4 Dec 2026":      "Sendmail 8.15.2",
		"Welcome to Postfix.":                                               "Postfix",
	} {
		if got := software(text); got != want {
			t.Errorf("software(%q) = %q, want %q", text, got, want)
		}
	}
}

// TestRelayNotRun: relay sessions that never ran (a panic, the deadline)
// are named as such, not a crash of the judge.
func TestRelayNotRun(t *testing.T) {
	o := &Options{}
	if _, _, err := parse(o, "-H", "192.0.2.1", "--only", "open_relay"); err != nil {
		t.Fatal(err)
	}
	f := &Facts{Durations: map[string]time.Duration{}, NotRun: map[string]error{"relay": errors.New("boom")}}
	r := o.Judge(f, time.Now())
	for _, v := range r.Items.([]Verdict) {
		if v.ID == "open_relay" && (v.State != "UNKNOWN" || v.Summary != "internal error: boom") {
			t.Errorf("open_relay: got %s %q", v.State, v.Summary)
		}
	}
}
