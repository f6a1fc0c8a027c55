package securitycheck

import (
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestSmuggling: a server that ends DATA at a bare LF.LF is CRITICAL and
// named; one that does not is OK, and the test server proves that no
// message was ever completed there: the probe never sends CRLF.CRLF.
func TestSmuggling(t *testing.T) {
	t.Parallel()
	vuln := start(t, &smtptest.Policy{TakeData: true, BareLFEnd: true}, true)
	got, out := items(t, vuln.args("mx", "--only", "smuggling", "--smuggling-rcpt", "postmaster@policy.test", "-t", "4")...)
	if out.Code != 2 {
		t.Errorf("vulnerable: exit %d:\n%s", out.Code, out.Out)
	}
	v := got["smuggling"]
	if v.State != "CRITICAL" || v.Summary != `the server ended DATA at "\n.\n" (not CRLF.CRLF): mail can be smuggled through it` {
		t.Errorf("vulnerable: %s %q", v.State, v.Summary)
	}
	if !strings.Contains(strings.Join(v.Evidence, "\n"), `message ending "\n.\n" -> "250 2.0.0 Ok: queued"`) {
		t.Errorf("vulnerable: evidence %q", v.Evidence)
	}
	if n := vuln.pol.Completed(); n != 1 {
		t.Errorf("vulnerable: %d messages completed, want the one ended at LF.LF", n)
	}

	safe := start(t, &smtptest.Policy{TakeData: true}, true)
	got, out = items(t, safe.args("mx", "--only", "smuggling", "--smuggling-rcpt", "postmaster@policy.test", "-t", "7")...)
	v = got["smuggling"]
	if out.Code != 0 || v.State != "OK" || v.Summary != "none of 7 false ends of DATA was taken" {
		t.Errorf("not vulnerable: exit %d, %s %q\n%s", out.Code, v.State, v.Summary, out.Out)
	}
	if !waitedInVain.MatchString(strings.Join(v.Evidence, "\n")) {
		t.Errorf("not vulnerable: evidence %q", v.Evidence)
	}
	if n := safe.pol.Completed(); n != 0 {
		t.Errorf("not vulnerable: %d messages completed, want none", n)
	}

	// A recipient the server refuses: nothing to judge, and it says why.
	got, _ = items(t, safe.args("mx", "--only", "smuggling", "--smuggling-rcpt", "nobody@policy.test", "-t", "4")...)
	if v := got["smuggling"]; v.State != "WARNING" || !strings.HasPrefix(v.Summary, `inconclusive: no message could be started: RCPT TO:<nobody@policy.test> -> "550 5.1.1`) {
		t.Errorf("refused recipient: %s %q", v.State, v.Summary)
	}
}

// waitedInVain is the evidence of a false end that got no reply in a wait
// long enough to tell: most of -t 7.
var waitedInVain = regexp.MustCompile(`message ending "\\r.\\r\\n" -> no reply in 6(\.\d)? s: the server waited for more \(closed without ever ending the message\)`)

// TestSmugglingLateReply: a server that takes a false end but answers
// only after 3 s (a slow content filter) is caught when -t leaves time to
// wait for it, and is never OK when it does not: the wait is too short to
// tell, so the sub-check is inconclusive and says to raise -t.
func TestSmugglingLateReply(t *testing.T) {
	t.Parallel()
	late := start(t, &smtptest.Policy{TakeData: true, BareLFEnd: true, EndDelay: 3 * time.Second}, true)
	got, out := items(t, late.args("mx", "--only", "smuggling", "--smuggling-rcpt", "postmaster@policy.test", "-t", "15")...)
	v := got["smuggling"]
	if out.Code != 2 || v.State != "CRITICAL" || v.Summary != `the server ended DATA at "\n.\n" (not CRLF.CRLF): mail can be smuggled through it` {
		t.Errorf("-t 15: exit %d, %s %q", out.Code, v.State, v.Summary)
	}
	if !strings.Contains(strings.Join(v.Evidence, "\n"), `message ending "\n.\n" -> "250 2.0.0 Ok: queued" after 3 s`) {
		t.Errorf("-t 15: evidence %q", v.Evidence)
	}

	short := `inconclusive: waited only 2.`
	for _, pol := range []*smtptest.Policy{{TakeData: true, BareLFEnd: true, EndDelay: 3 * time.Second}, {TakeData: true}} {
		lab := start(t, pol, true)
		out := check(t, lab.args("mx", "--only", "smuggling", "--smuggling-rcpt", "postmaster@policy.test", "-t", "3")...)
		if out.Code != 1 || !strings.HasPrefix(out.Status(), "SMTP SECURITY WARNING - smuggling: "+short) ||
			!strings.Contains(out.Status(), `(less than 5 s), and a server may answer later: raise -t (each false end waits for what is left of it)`) {
			t.Errorf("-t 3, late %v: exit %d %q", pol.BareLFEnd, out.Code, out.Status())
		}
		out.Contains(t, `message ending "\n.\n" -> no reply in 2.`, ` s, too short a wait to tell (closed without ever ending the message)`)
		if pol.Completed() > 0 != pol.BareLFEnd {
			t.Errorf("-t 3, late %v: %d messages completed", pol.BareLFEnd, pol.Completed())
		}
	}
}

func TestRateProbe(t *testing.T) {
	open := start(t, &smtptest.Policy{}, true)
	out := check(t, open.args("mx", "--only", "rate_limit", "--rate-probe", "5")...)
	out.Expect(t, 1, "SMTP SECURITY WARNING - rate_limit: no rate limiting seen in 5 connections")
	out.Contains(t, "note: a source inside the server's trusted networks (Postfix $mynetworks, Exim relay_from_hosts) is exempt")

	var n atomic.Int32
	limited := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		if n.Add(1) > 3 {
			_ = c.Send("421 4.7.0 too many connections from you")
			return
		}
		_ = c.Greet()
		_ = c.EHLO()
		if _, err := c.Expect("QUIT"); err == nil {
			_ = c.Send("221 bye")
		}
	})
	out = check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(limited.Port), "--only", "rate_limit", "--rate-probe", "10")
	out.Expect(t, 0, "SMTP SECURITY OK - 1 sub-check passed for --role mx on 127.0.0.1:"+strconv.Itoa(limited.Port))
	out.Contains(t, `[OK] rate_limit: limited after 4 of 10 connections`, `connection 4: banner: "421 4.7.0 too many connections from you"`)
}

func TestOptInUsage(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status string
	}{
		{[]string{"--only", "smuggling"}, "SMTP SECURITY UNKNOWN - --only smuggling: smuggling runs only with --smuggling-rcpt (see check_smtp_security --help)"},
		{[]string{"--rate-probe", "201"}, "SMTP SECURITY UNKNOWN - --rate-probe 201: want 1 to 200 connections (see check_smtp_security --help)"},
		{[]string{"-p", "587", "--smuggling-rcpt", "me@example.org"}, "SMTP SECURITY UNKNOWN - --smuggling-rcpt: the smuggling probe is for an MX (--role mx), not --role submission (see check_smtp_security --help)"},
		{[]string{"--smuggling-rcpt", "me"}, `SMTP SECURITY UNKNOWN - --smuggling-rcpt "me": want a plain address of a mailbox of yours, such as postmaster@example.org (see check_smtp_security --help)`},
	} {
		check(t, append([]string{"-H", "192.0.2.1"}, c.args...)...).Expect(t, 3, c.status)
	}
}
