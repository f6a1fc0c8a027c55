package securitycheck

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestPostfix audits the lab's hardened Postfix (.ci/mailserver.sh): no
// relay on 25 (mynetworks is empty), STARTTLS and AUTH required on 587, AUTH
// only inside TLS, no injection, VRFY off, TLS 1.2 and later only, and no
// end of data but CRLF.CRLF (smtpd_forbid_bare_newline): every row OK. The
// smuggling probe goes to the lab's own mailbox, which must not get it.
func TestPostfix(t *testing.T) {
	pf := plugintest.Postfix(t)
	box := maildir(t, pf["USER"])
	before := smugglingProbes(t, box)
	host := func(addr string, more ...string) []string {
		h, p, _ := strings.Cut(addr, ":")
		return append([]string{"-H", h, "-p", p, "--ca-file", pf["CA"], "--verify-name", pf["HOSTNAME"]}, more...)
	}
	vrfyOff := want{"OK", "VRFY refused", []string{`VRFY postmaster -> "502 5.5.1 VRFY command is disabled"`}}
	weak := want{"OK", "accepts only TLSv1.2, TLSv1.3; no RC4 or 3DES", []string{
		"TLSv1.0 refused", "TLSv1.1 refused", "protocol version not supported", "TLSv1.2 accepted", "TLSv1.3 accepted", "RC4/3DES suites only: refused"}}
	banner := want{"OK", "names the software: Postfix (informational)", []string{`greeting: "mail.smtpcheck.test ESMTP Postfix (smtpcheck test)"`}}
	expn := want{"OK", "EXPN refused", []string{`EXPN postmaster -> "500 5.5.2 Error: command not recognized"`}}

	got, out := items(t, host(pf["SMTP"], "--smuggling-rcpt", pf["USER"])...)
	expectItems(t, got, map[string]want{
		"starttls":   {"OK", "offered", nil},
		"auth_plain": {"OK", "no AUTH before STARTTLS", []string{"AUTH offered in clear text: none"}},
		"open_relay": {"OK", "no relay variant accepted", []string{
			"12 relay variants refused", `plain: RCPT TO:<relay-test@example.net> -> "554 5.7.1 <relay-test@example.net>: Relay access denied"`,
			"control (a random local recipient): RCPT TO:<smtpcheck-", "User unknown in local recipient table"}},
		"vrfy": vrfyOff,
		"expn": expn,
		"rcpt_enum": {"OK", "RCPT tells users apart: 250 for postmaster, 550 for a random name (required of an MX; informational: harvesting is slowed only by limits)", []string{
			"User unknown in local recipient table", "limit harvesting: an MX must refuse unknown recipients at RCPT"}},
		"injection": {"OK", "the NOOP sent in clear text before the handshake was discarded", []string{`STARTTLS + NOOP in one write -> "220 2.0.0 Ready to start TLS"`}},
		"banner":    banner,
		"weak_tls":  weak,
		"smuggling": {"OK", "none of 7 false ends of DATA was taken", []string{
			`message ending "\n.\n" -> no reply in `, ` s: the server waited for more (closed without ever ending the message)`,
			`message ending "\n.\r\n" -> no reply in `, trustedCaveat}},
	})
	if out.Code != 0 {
		t.Errorf("port 25: exit %d, want 0 (OK)", out.Code)
	}
	if n := waitSmugglingProbes(t, box, before); n != before {
		t.Errorf("%s got %d smuggling probe(s): a false end of DATA completed a message", box, n-before)
	}

	got, out = items(t, host(pf["SUBMISSION"])...)
	expectItems(t, got, map[string]want{
		"starttls":     {"OK", "offered", nil},
		"tls_required": {"OK", "MAIL FROM in clear text refused", []string{`MAIL FROM:<security-probe@example.com> -> "530 5.7.0 Must issue a STARTTLS command first"`}},
		"auth_plain":   {"OK", "no AUTH before STARTTLS", nil},
		"auth_relay": {"OK", "RCPT to an outside domain without AUTH refused", []string{
			"AUTH offered inside TLS: PLAIN LOGIN", `RCPT TO:<relay-test@example.net> -> "554 5.7.1 <relay-test@example.net>: Recipient address rejected: Access denied"`}},
		"vrfy":      vrfyOff,
		"expn":      expn,
		"rcpt_enum": {"OK", "RCPT answers the known and a random name alike", []string{`: Recipient address rejected: Access denied"`}},
		"injection": {"OK", "the NOOP sent in clear text before the handshake was discarded", nil},
		"banner":    banner,
		"weak_tls":  weak,
	})
	if out.Code != 0 {
		t.Errorf("port 587: exit %d, want 0 (OK)", out.Code)
	}

	got, out = items(t, host(pf["SUBMISSIONS"])...)
	expectItems(t, got, map[string]want{
		"auth_relay": {"OK", "RCPT to an outside domain without AUTH refused", nil},
		"vrfy":       vrfyOff,
		"expn":       expn,
		"rcpt_enum":  {"OK", "RCPT answers the known and a random name alike", []string{`: Recipient address rejected: Access denied"`}},
		"banner":     banner,
		"weak_tls":   weak,
	})
	if out.Code != 0 {
		t.Errorf("port 465: exit %d, want 0 (OK)", out.Code)
	}
}
