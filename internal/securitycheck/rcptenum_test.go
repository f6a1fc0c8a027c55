package securitycheck

import (
	"slices"
	"strconv"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// sessions counts the sessions a policy server saw end (each ends with QUIT).
func sessions(l *lab) int {
	n := 0
	for _, c := range l.pol.Commands() {
		if c == "QUIT" {
			n++
		}
	}
	return n
}

const (
	enumMX  = "rcpt_enum: RCPT tells users apart: 250 for postmaster, 550 for a random name (required of an MX; informational: harvesting is slowed only by limits)"
	enumSub = "rcpt_enum: RCPT tells users apart before any login: 250 for postmaster, 550 for a random name: addresses can be harvested here"
)

// TestRcptEnumMX: an MX that refuses an unknown recipient and takes
// postmaster does what an MX must: informational OK with the harvest
// limits as advice, WARNING when --state says so. It rides the open-relay
// control's session: no connection of its own.
func TestRcptEnumMX(t *testing.T) {
	l := start(t, &smtptest.Policy{}, true)
	where := "127.0.0.1:" + strconv.Itoa(l.srv.Port)
	out := check(t, l.args("mx", "--only", "rcpt_enum")...)
	out.Expect(t, 0, "SMTP SECURITY OK - 1 sub-check passed for --role mx on "+where)
	out.Contains(t, "[OK] "+enumMX, `    RCPT TO:<postmaster@policy.test> -> "250 2.1.5 Ok"`,
		"    limit harvesting: an MX must refuse unknown recipients at RCPT (accepting and bouncing later sends backscatter), so limit harvesting instead: Postfix: smtpd_hard_error_limit")
	if n := sessions(l); n != 1 {
		t.Errorf("--only rcpt_enum: %d sessions, want 1", n)
	}

	out = check(t, l.args("mx", "--only", "rcpt_enum", "--state", "rcpt_enum=warning")...)
	out.Expect(t, 1, "SMTP SECURITY WARNING - "+enumMX)
	out.Contains(t, "    fix: an MX must refuse unknown recipients at RCPT")

	before := sessions(l)
	check(t, l.args("mx", "--only", "open_relay")...)
	relayOnly := sessions(l) - before
	check(t, l.args("mx", "--only", "open_relay,rcpt_enum")...)
	if both := sessions(l) - before - relayOnly; both != relayOnly {
		t.Errorf("open_relay and rcpt_enum: %d sessions, open_relay alone %d: rcpt_enum opened its own", both, relayOnly)
	}
	l.noData(t)
}

// TestRcptEnumSubmission: before a login a submission port should tell
// nobody which addresses exist: WARNING when it does, in the TLS session
// (or in clear text with --no-tls); OK when it refuses every recipient.
func TestRcptEnumSubmission(t *testing.T) {
	open := start(t, &smtptest.Policy{}, true)
	port := strconv.Itoa(open.srv.Port)
	for _, args := range [][]string{open.args("submission", "--only", "rcpt_enum"), {"-H", "127.0.0.1", "-p", port, "--role", "submission", "--no-tls", "--only", "rcpt_enum"}} {
		out := check(t, args...)
		out.Expect(t, 1, "SMTP SECURITY WARNING - "+enumSub)
		out.Contains(t, "    fix: refuse MAIL or RCPT before a login: Postfix: -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject on the submission service")
	}

	hardened := start(t, &smtptest.Policy{LoginFirst: true}, true)
	got, out := items(t, hardened.args("submission", "--only", "rcpt_enum")...)
	if v := got["rcpt_enum"]; out.Code != 0 || v.State != "OK" || v.Summary != "RCPT answers the known and a random name alike" ||
		!slices.Contains(v.Evidence, `RCPT TO:<postmaster@policy.test> -> "554 5.7.1 <postmaster@policy.test>: Recipient address rejected: Access denied"`) {
		t.Errorf("hardened: exit %d, %+v", out.Code, v)
	}
	open.noData(t)
}

// TestRcptEnumInconclusive: a server that takes every recipient, or
// answers 4xx, tells nothing: inconclusive, never a plain pass; WARNING
// where the finding counts (submission, or --state on an MX).
func TestRcptEnumInconclusive(t *testing.T) {
	for _, c := range []struct {
		pol    *smtptest.Policy
		role   string
		more   []string
		code   int
		status string
	}{
		{&smtptest.Policy{CatchAll: true}, "submission", nil, 1, "SMTP SECURITY WARNING - rcpt_enum: inconclusive: accepts every recipient, even a random one of its own domain (a catch-all, or accept-then-bounce): nothing tells whether a name exists"},
		{&smtptest.Policy{CatchAll: true}, "mx", []string{"--state", "rcpt_enum=warning"}, 1, "SMTP SECURITY WARNING - rcpt_enum: inconclusive: accepts every recipient, even a random one of its own domain (a catch-all, or accept-then-bounce): nothing tells whether a name exists"},
		{&smtptest.Policy{Greylist: true}, "submission", nil, 1, "SMTP SECURITY WARNING - rcpt_enum: inconclusive: RCPT answered 4xx (try again later): greylisting or a failed lookup hides whether it tells users apart; run again later, or exempt this client from greylisting"},
		{&smtptest.Policy{Greylist: true}, "mx", []string{"--state", "rcpt_enum=critical"}, 1, "SMTP SECURITY WARNING - rcpt_enum: inconclusive: RCPT answered 4xx (try again later): greylisting or a failed lookup hides whether it tells users apart; run again later, or exempt this client from greylisting"},
	} {
		l := start(t, c.pol, true)
		out := check(t, l.args(c.role, append([]string{"--only", "rcpt_enum"}, c.more...)...)...)
		out.Expect(t, c.code, c.status)
	}
	// An MX that refuses postmaster too was asked about a domain it does not serve.
	l := start(t, &smtptest.Policy{}, true)
	out := check(t, l.args("mx", "--only", "rcpt_enum", "--local-domain", "elsewhere.test", "--state", "rcpt_enum=warning")...)
	out.Expect(t, 1, "SMTP SECURITY WARNING - rcpt_enum: inconclusive: postmaster was refused too: the domain tried may not be one this server takes mail for; give --local-domain")
	out.Contains(t, `RCPT TO:<postmaster@elsewhere.test> -> "554 5.7.1 <postmaster@elsewhere.test>: Relay access denied"`)

	// On an MX without --state the row stays informational, and says it is inconclusive.
	l = start(t, &smtptest.Policy{Greylist: true}, true)
	got, _ := items(t, l.args("mx", "--only", "rcpt_enum")...)
	if v := got["rcpt_enum"]; v.State != "OK" || v.Summary != "inconclusive: RCPT answered 4xx (try again later): greylisting or a failed lookup hides whether it tells users apart; run again later, or exempt this client from greylisting" {
		t.Errorf("greylisting MX: %s %q", v.State, v.Summary)
	}
}
