package securitycheck

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

func TestUsage(t *testing.T) {
	cases := []struct {
		args   []string
		status string
	}{
		{[]string{"--only", "bogus"}, "SMTP SECURITY UNKNOWN - --only bogus: no such sub-check (known: starttls, tls_required, auth_plain, auth_relay, open_relay, vrfy, expn, rcpt_enum, injection, banner, weak_tls, rate_limit, smuggling, mx, spf, dmarc, mta_sts, tls_rpt, tlsa) (see check_smtp_security --help)"},
		{[]string{"--skip", "vrfy,nope"}, "SMTP SECURITY UNKNOWN - --skip nope: no such sub-check (known: starttls, tls_required, auth_plain, auth_relay, open_relay, vrfy, expn, rcpt_enum, injection, banner, weak_tls, rate_limit, smuggling, mx, spf, dmarc, mta_sts, tls_rpt, tlsa) (see check_smtp_security --help)"},
		{[]string{"--state", "vrfy=bad"}, `SMTP SECURITY UNKNOWN - --state vrfy=bad: unknown state "bad" (want OK, WARNING, CRITICAL or UNKNOWN) (see check_smtp_security --help)`},
		{[]string{"--state", "vrfy"}, `SMTP SECURITY UNKNOWN - --state "vrfy": want ID=STATE, e.g. vrfy=critical (see check_smtp_security --help)`},
		{[]string{"--role", "submissions", "-S"}, "SMTP SECURITY UNKNOWN - --role submissions speaks implicit TLS: drop -S and --no-tls (see check_smtp_security --help)"},
		{[]string{"-s", "--role", "mx"}, "SMTP SECURITY UNKNOWN - implicit TLS (-s or port 465) is --role submissions, not --role mx: give --role submissions, or -S for STARTTLS (see check_smtp_security --help)"},
		{[]string{"--role", "submission", "--only", "open-relay"}, "SMTP SECURITY UNKNOWN - --only open_relay: open_relay does not apply to --role submission (see check_smtp_security --help)"},
		{[]string{"--relay-from", "x"}, `SMTP SECURITY UNKNOWN - --relay-from "x": want a plain address such as user@example.net (see check_smtp_security --help)`},
		{[]string{"--relay-to", "<a@example.net>"}, `SMTP SECURITY UNKNOWN - --relay-to "<a@example.net>": want a plain address such as user@example.net (see check_smtp_security --help)`},
		{[]string{"--relay-to", "a@example.net\r\nDATA"}, `SMTP SECURITY UNKNOWN - --relay-to "a@example.net\r\nDATA": contains a control character ("\r"), which cannot be sent in an SMTP command (see check_smtp_security --help)`},
		{[]string{"--local-domain", "192.0.2.1"}, `SMTP SECURITY UNKNOWN - --local-domain "192.0.2.1": want a domain name, not an IP address (see check_smtp_security --help)`},
		{[]string{"extra"}, `SMTP SECURITY UNKNOWN - unexpected argument "extra" (see check_smtp_security --help)`},
	}
	for _, c := range cases {
		out := check(t, append([]string{"-H", "192.0.2.1"}, c.args...)...)
		out.Expect(t, 3, c.status)
	}
}

// TestRoleByPort: the role follows the port, and the port the role.
func TestRoleByPort(t *testing.T) {
	for _, c := range []struct {
		args []string
		role Role
		port int
	}{
		{nil, RoleMX, 25},
		{[]string{"-p", "587"}, RoleSubmission, 587},
		{[]string{"-p", "465"}, RoleSubmissions, 465},
		{[]string{"--role", "submission"}, RoleSubmission, 587},
		{[]string{"--role", "submissions"}, RoleSubmissions, 465},
		{[]string{"-s"}, RoleSubmissions, 465},
		{[]string{"-p", "2525"}, RoleMX, 2525},
	} {
		o := &Options{}
		if _, _, err := parse(o, c.args...); err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if o.role != c.role || o.Port != c.port {
			t.Errorf("%v: got %s port %d, want %s port %d", c.args, o.role, o.Port, c.role, c.port)
		}
	}
}

// TestRefused: a server that is down gives one finding for every
// sub-check, CRITICAL, with no fix advice (nothing is misconfigured).
func TestRefused(t *testing.T) {
	port := closedPort(t)
	out := check(t, "-H", "127.0.0.1", "-p", port)
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - connect: connection refused (127.0.0.1:"+port+") - is the MTA running and listening on this address and port? (not asked: starttls, auth_plain, open_relay, vrfy, expn, rcpt_enum, injection, banner, weak_tls)")
	out.Contains(t, "'failed'=9;;;0;", "'passed'=0;;;0;")
	if contains(out.Out, "fix:") {
		t.Errorf("fix advice for a server that is down:\n%s", out.Out)
	}
}

// TestHostile: a 554 greeting and a server that stalls after EHLO end in
// one finding each, within -t, and never in a false OK.
func TestHostile(t *testing.T) {
	refuse := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Send("554 5.3.2 go away")
		_, _ = c.ReadLine()
		_ = c.Send("221 bye")
	})
	out := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(refuse.Port), "--only", "banner")
	out.Expect(t, 2, `SMTP SECURITY CRITICAL - banner: "554 5.3.2 go away" (127.0.0.1:`+strconv.Itoa(refuse.Port)+`) - the server refuses service to this client: check its access rules and blocklists (not asked: banner)`)

	stall := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO("STARTTLS") != nil {
			return
		}
		c.Hang()
	})
	out = check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(stall.Port), "-t", "1.5")
	out.Within(t, 1500*time.Millisecond)
	if out.Code != 2 || !strings.Contains(out.Status(), "no answer within the 1.5 s timeout") {
		t.Errorf("stall: exit %d, %s", out.Code, out.Out)
	}
	// What the EHLO showed before the stall stands; nothing asked after it passes.
	for _, id := range []string{"open_relay", "vrfy", "expn", "injection", "banner", "weak_tls"} {
		if strings.Contains(out.Out, "[OK] "+id) {
			t.Errorf("stall: %s passed:\n%s", id, out.Out)
		}
	}
}
