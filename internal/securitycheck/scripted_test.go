package securitycheck

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// check runs check_smtp_security in-process, the way main runs it.
func check(t *testing.T, args ...string) plugintest.Outcome {
	t.Helper()
	return plugintest.Run(t, Name, Service, &Options{}, Check, args...)
}

// lab is a test CA and the server certificate for 127.0.0.1.
type lab struct {
	pol    *smtptest.Policy
	srv    *smtptest.FaultServer
	caFile string
}

// start serves pol (its TLS filled in when tls) and returns the lab.
func start(t *testing.T, pol *smtptest.Policy, withTLS bool) *lab {
	t.Helper()
	ca := smtptest.MustNewCA(t, "smtpcheck security test CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	if withTLS {
		cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
		pol.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	srv := smtptest.MustStartFault(t, pol.Serve)
	return &lab{pol: pol, srv: srv, caFile: caFile}
}

// args are the command line for this lab and role.
func (l *lab) args(role string, more ...string) []string {
	a := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(l.srv.Port), "--role", role, "--ca-file", l.caFile, "-t", "8"}
	return append(a, more...)
}

// noData fails the test when the server was ever sent DATA.
func (l *lab) noData(t *testing.T) {
	t.Helper()
	for _, c := range l.pol.Commands() {
		if strings.HasPrefix(strings.ToUpper(c), "DATA") {
			t.Errorf("the server was sent %q", c)
		}
	}
}

// items runs with --output json and returns the verdicts by id.
func items(t *testing.T, args ...string) (map[string]Verdict, plugintest.Outcome) {
	t.Helper()
	out := check(t, append(args, "--output", "json")...)
	var js struct {
		Items []Verdict `json:"items"`
	}
	if err := json.Unmarshal([]byte(out.Out), &js); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.Out)
	}
	m := map[string]Verdict{}
	for _, v := range js.Items {
		m[v.ID] = v
	}
	return m, out
}

// want is one sub-check's expected state and summary, and texts its
// evidence must hold.
type want struct {
	state, summary string
	evidence       []string
}

func expectItems(t *testing.T, got map[string]Verdict, wants map[string]want) {
	t.Helper()
	for id, w := range wants {
		v, ok := got[id]
		if !ok {
			t.Errorf("%s: not listed", id)
			continue
		}
		if v.State != w.state || v.Summary != w.summary {
			t.Errorf("%s: got %s %q, want %s %q\nevidence: %q", id, v.State, v.Summary, w.state, w.summary, v.Evidence)
		}
		joined := strings.Join(v.Evidence, "\n")
		for _, e := range w.evidence {
			if !strings.Contains(joined, e) {
				t.Errorf("%s: evidence lacks %q:\n%s", id, e, joined)
			}
		}
		if v.Advice == "" {
			t.Errorf("%s: no advice", id)
		}
	}
	for id := range got {
		if _, ok := wants[id]; !ok {
			t.Errorf("%s: listed but not expected: %+v", id, got[id])
		}
	}
}

func TestHardenedMX(t *testing.T) {
	l := start(t, &smtptest.Policy{}, true)
	got, out := items(t, l.args("mx")...)
	if out.Code != 0 {
		t.Errorf("exit %d, want 0:\n%s", out.Code, out.Out)
	}
	expectItems(t, got, map[string]want{
		"starttls":   {"OK", "offered", []string{"EHLO in clear text offers: ENHANCEDSTATUSCODES PIPELINING STARTTLS"}},
		"auth_plain": {"OK", "no AUTH before STARTTLS", []string{"AUTH offered in clear text: none"}},
		"open_relay": {"OK", "no relay variant accepted", []string{
			"12 relay variants refused: plain, null sender, local sender, %-hack, %-hack to the address, quoted local part, quoted local part at a local domain, double @, bang path, bang path at a local domain, source route, source route via the address",
			`plain: RCPT TO:<relay-test@example.net> -> "554 5.7.1 <relay-test@example.net>: Relay access denied"`,
			`control (a random local recipient): RCPT TO:<smtpcheck-`,
			`@policy.test> -> "550 5.1.1 <smtpcheck-`}},
		"vrfy": {"OK", "VRFY refused", []string{`VRFY postmaster -> "502 5.5.1 VRFY command is disabled"`}},
		"expn": {"OK", "EXPN refused", []string{`EXPN postmaster -> "502 5.5.1 VRFY command is disabled"`}},
		"rcpt_enum": {"OK", "RCPT tells users apart: 250 for postmaster, 550 for a random name (required of an MX; informational: harvesting is slowed only by limits)", []string{
			`RCPT TO:<postmaster@policy.test> -> "250 2.1.5 Ok"`, "limit harvesting: an MX must refuse unknown recipients at RCPT"}},
		"injection": {"OK", "the NOOP sent in clear text before the handshake was discarded", []string{
			`STARTTLS + NOOP in one write -> "220 2.0.0 Ready to start TLS"`}},
		"banner": {"OK", "no software name or version in the greeting, EHLO or HELP", []string{`greeting: "220 policy.test ESMTP"`}},
		"weak_tls": {"OK", "accepts only TLSv1.2, TLSv1.3; no RC4 or 3DES", []string{
			"TLSv1.0 refused", "TLSv1.1 refused", "TLSv1.2 accepted", "RC4/3DES suites only: refused"}},
	})
	text := check(t, l.args("mx")...)
	text.Expect(t, 0, "SMTP SECURITY OK - 9 sub-checks passed for --role mx on 127.0.0.1:"+strconv.Itoa(l.srv.Port))
	text.Contains(t, "'passed'=9;;;0;", "'warned'=0;;;0;", "'failed'=0;;;0;", "'skipped'=0;;;0;", "'time_relay'=", "'time_injection'=")
	l.noData(t)
}

func TestMisconfiguredMX(t *testing.T) {
	l := start(t, &smtptest.Policy{Banner: "policy.test ESMTP Exim 4.92 #3", AuthInClear: true, OpenRelay: true,
		VRFY: "enum", Injectable: true, Legacy: true}, true)
	got, out := items(t, l.args("mx")...)
	if out.Code != 2 {
		t.Errorf("exit %d, want 2:\n%s", out.Code, out.Out)
	}
	expectItems(t, got, map[string]want{
		"starttls":   {"OK", "offered", nil},
		"auth_plain": {"WARNING", "AUTH PLAIN LOGIN offered before STARTTLS: passwords can be sent in clear text", []string{"AUTH offered in clear text: PLAIN LOGIN"}},
		"open_relay": {"CRITICAL", "open relay: accepted RCPT to an outside domain (plain, null sender, local sender and 9 more of 12 variants)", []string{
			`plain: RCPT TO:<relay-test@example.net> -> "250 2.1.5 Ok"`,
			`null sender: RCPT TO:<relay-test@example.net> -> "250 2.1.5 Ok"`,
			`control (a random local recipient): RCPT TO:<smtpcheck-`}},
		"vrfy": {"WARNING", "VRFY tells users apart: 250 for postmaster, 550 for a random name", []string{
			`VRFY postmaster -> "250 2.1.5 Postmaster <postmaster@policy.test>"`, `-> "550 5.1.1 <smtpcheck-`}},
		"expn": {"WARNING", "EXPN tells users apart: 250 for postmaster, 550 for a random name", nil},
		"rcpt_enum": {"OK", "RCPT tells users apart: 250 for postmaster, 550 for a random name (required of an MX; informational: harvesting is slowed only by limits)", []string{
			`RCPT TO:<postmaster@policy.test> -> "250 2.1.5 Ok"`, "limit harvesting: an MX must refuse unknown recipients at RCPT"}},
		"injection": {"CRITICAL", "a NOOP sent in clear text with STARTTLS was answered inside TLS: commands injected before the handshake run as if sent encrypted", []string{
			`inside TLS, before any command: "250 2.0.0 Ok"`}},
		"banner":   {"OK", "names the software: Exim 4.92 (informational)", []string{`greeting: "policy.test ESMTP Exim 4.92 #3"`}},
		"weak_tls": {"WARNING", "accepts TLSv1.0 and TLSv1.1", []string{"TLSv1.0 accepted", "TLSv1.1 accepted"}},
	})
	text := check(t, l.args("mx")...)
	text.Expect(t, 2, "SMTP SECURITY CRITICAL - open_relay: open relay: accepted RCPT to an outside domain (plain, null sender, local sender and 9 more of 12 variants); "+
		"injection: a NOOP sent in clear text with STARTTLS was answered inside TLS: commands injected before the handshake run as if sent encrypted "+
		"(also WARNING auth_plain, WARNING vrfy, WARNING expn, WARNING weak_tls)")
	text.Contains(t, "'passed'=3;;;0;", "'warned'=4;;;0;", "'failed'=2;;;0;",
		"    fix: Postfix: smtpd_relay_restrictions = permit_mynetworks",
		"note: a client inside the server's trusted networks")
	// The banner counts once told to.
	warned := check(t, l.args("mx", "--only", "banner", "--state", "banner=warning")...)
	warned.Expect(t, 1, "SMTP SECURITY WARNING - banner: names the software: Exim 4.92 (informational)")
	warned.Contains(t, "'skipped'=8;;;0;", "[SKIPPED] vrfy: skipped: not selected (--only, --skip)")
	l.noData(t)
}

// TestCatchAll: a server that takes every recipient is no proven open
// relay: the control recipient says so, and --state cannot make an
// inconclusive verdict CRITICAL.
func TestCatchAll(t *testing.T) {
	l := start(t, &smtptest.Policy{CatchAll: true}, true)
	got, _ := items(t, l.args("mx", "--only", "open_relay", "--state", "open-relay=critical")...)
	v := got["open_relay"]
	if v.State != "WARNING" || !strings.HasPrefix(v.Summary, "inconclusive: accepts every recipient, even a random one of its own domain") {
		t.Errorf("catch-all: got %s %q", v.State, v.Summary)
	}
	if !strings.Contains(v.Evidence[0], `control (a random local recipient): RCPT TO:<smtpcheck-`) || !strings.Contains(v.Evidence[0], `@policy.test> -> "250 2.1.5 Ok"`) {
		t.Errorf("catch-all: evidence %q", v.Evidence)
	}
	l.noData(t)
}

// TestPercentHack: one variant alone is an open relay, named.
func TestPercentHack(t *testing.T) {
	l := start(t, &smtptest.Policy{PercentHack: true}, true)
	out := check(t, l.args("mx", "--only", "open_relay")...)
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - open_relay: open relay: accepted RCPT to an outside domain (%-hack)")
	out.Contains(t, `%-hack: RCPT TO:<relay-test%example.net@policy.test> -> "250 2.1.5 Ok"`, "'skipped'=8;;;0;")
	l.noData(t)
}

// TestVRFY252: a server that cannot verify anyone tells nothing.
func TestVRFY252(t *testing.T) {
	l := start(t, &smtptest.Policy{VRFY: "252"}, true)
	got, out := items(t, l.args("mx", "--only", "vrfy,expn")...)
	if out.Code != 0 {
		t.Errorf("exit %d:\n%s", out.Code, out.Out)
	}
	if v := got["vrfy"]; v.State != "OK" || v.Summary != "VRFY answers every name alike" {
		t.Errorf("vrfy: got %s %q %q", v.State, v.Summary, v.Evidence)
	}
}

func TestSubmission(t *testing.T) {
	hardened := start(t, &smtptest.Policy{TLSRequired: true, LoginFirst: true}, true)
	got, out := items(t, hardened.args("submission", "--skip", "weak_tls,injection")...)
	if out.Code != 0 {
		t.Errorf("exit %d:\n%s", out.Code, out.Out)
	}
	if v := got["tls_required"]; v.State != "OK" || v.Summary != "MAIL FROM in clear text refused" ||
		!slices.Contains(v.Evidence, `MAIL FROM:<security-probe@example.com> -> "530 5.7.0 Must issue a STARTTLS command first"`) {
		t.Errorf("tls_required: %+v", v)
	}
	if v := got["auth_relay"]; v.State != "OK" || v.Summary != "RCPT to an outside domain without AUTH refused" ||
		!slices.Contains(v.Evidence, `RCPT TO:<relay-test@example.net> -> "554 5.7.1 <relay-test@example.net>: Recipient address rejected: Access denied"`) {
		t.Errorf("auth_relay: %+v", v)
	}
	if _, ok := got["open_relay"]; ok {
		t.Errorf("open_relay listed for --role submission")
	}

	bad := start(t, &smtptest.Policy{NoAuthRelay: true, AuthInClear: true}, true)
	out = check(t, bad.args("submission", "--skip", "weak_tls,injection")...)
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - tls_required: MAIL FROM accepted in clear text, before STARTTLS; "+
		"auth_plain: AUTH PLAIN LOGIN offered before STARTTLS: passwords can be sent in clear text; "+
		"auth_relay: relays without AUTH: RCPT to an outside domain accepted inside TLS without logging in (also WARNING rcpt_enum)")
	hardened.noData(t)
	bad.noData(t)
}

func TestSubmissions(t *testing.T) {
	l := start(t, &smtptest.Policy{Implicit: true, NoAuthRelay: true}, true)
	got, out := items(t, l.args("submissions")...)
	if out.Code != 2 {
		t.Errorf("exit %d:\n%s", out.Code, out.Out)
	}
	expectItems(t, got, map[string]want{
		"auth_relay": {"CRITICAL", "relays without AUTH: RCPT to an outside domain accepted inside TLS without logging in", []string{"AUTH offered inside TLS: PLAIN LOGIN"}},
		"vrfy":       {"OK", "VRFY refused", nil},
		"expn":       {"OK", "EXPN refused", nil},
		"rcpt_enum":  {"WARNING", "RCPT tells users apart before any login: 250 for postmaster, 550 for a random name: addresses can be harvested here", []string{`RCPT TO:<postmaster@policy.test> -> "250 2.1.5 Ok"`}},
		"banner":     {"OK", "no software name or version in the greeting, EHLO or HELP", nil},
		"weak_tls":   {"OK", "accepts only TLSv1.2, TLSv1.3; no RC4 or 3DES", nil},
	})
}

// TestNoStartTLS: an MX without TLS: STARTTLS missing is the finding, the
// sub-checks that need TLS are skipped, not failed.
func TestNoStartTLS(t *testing.T) {
	l := start(t, &smtptest.Policy{}, false)
	got, out := items(t, l.args("mx", "--skip", "open_relay")...)
	if out.Code != 1 {
		t.Errorf("exit %d:\n%s", out.Code, out.Out)
	}
	expectItems(t, got, map[string]want{
		"starttls":   {"WARNING", "not offered: mail to and from this server travels in clear text", nil},
		"auth_plain": {"OK", "no AUTH before STARTTLS", nil},
		"open_relay": {"SKIPPED", "skipped: not selected (--only, --skip)", nil},
		"vrfy":       {"OK", "VRFY refused", nil},
		"expn":       {"OK", "EXPN refused", nil},
		"rcpt_enum":  {"OK", "RCPT tells users apart: 250 for postmaster, 550 for a random name (required of an MX; informational: harvesting is slowed only by limits)", nil},
		"injection":  {"SKIPPED", "skipped: the server does not offer STARTTLS (see starttls)", nil},
		"banner":     {"OK", "no software name or version in the greeting, EHLO or HELP", nil},
		"weak_tls":   {"SKIPPED", "skipped: the server does not offer STARTTLS (see starttls)", nil},
	})
}
