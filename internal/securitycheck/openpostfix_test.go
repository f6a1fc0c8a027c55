package securitycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestOpenPostfix audits the deliberately open Postfix (.ci/postfix-open.sh):
// it relays for anyone, answers VRFY, offers AUTH before STARTTLS, takes TLS
// 1.0 and a bare LF as the end of data. Every one of those is found, with
// the server's own replies as evidence; the smuggled messages were discarded
// (its every transport is discard), so nothing was delivered anywhere.
func TestOpenPostfix(t *testing.T) {
	op := plugintest.OpenPostfix(t)
	rcpt := "monitor@" + op["DOMAIN"]
	args := append(plugintest.HostArgs(op["SMTP"]), "--ca-file", op["CA"], "--verify-name", op["HOSTNAME"], "--smuggling-rcpt", rcpt)
	got, out := items(t, args...)
	auth := want{"WARNING", "AUTH PLAIN LOGIN offered before STARTTLS: passwords can be sent in clear text", []string{"AUTH offered in clear text: PLAIN LOGIN"}}
	if op["AUTH"] != "1" { // no Dovecot SASL socket when it started
		if os.Getenv("SMTPCHECK_REQUIRE_REAL") == "1" {
			t.Fatal("the open Postfix offers no AUTH: start .ci/mailserver.sh (its Dovecot SASL) before .ci/postfix-open.sh")
		}
		auth = want{"OK", "no AUTH before STARTTLS", []string{"AUTH offered in clear text: none"}}
	}
	expectItems(t, got, map[string]want{
		"starttls":   {"OK", "offered", nil},
		"auth_plain": auth,
		"open_relay": {"CRITICAL", "open relay: accepted RCPT to an outside domain (plain, null sender, local sender and 9 more of 12 variants)", []string{
			`plain: RCPT TO:<relay-test@example.net> -> "250 2.1.5 Ok"`,
			`%-hack: RCPT TO:<relay-test%example.net@open.smtpcheck.test> -> "250 2.1.5 Ok"`,
			`bang path: RCPT TO:<example.net!relay-test> -> "250 2.1.5 Ok"`,
			`control (a random local recipient): RCPT TO:<smtpcheck-`, `Recipient address rejected: User unknown in local recipient table"`}},
		"vrfy": {"WARNING", "VRFY tells users apart: 252 for postmaster, 550 for a random name", []string{
			`VRFY postmaster -> "252 2.0.0 postmaster"`, `VRFY smtpcheck-`, `-> "550 5.1.1 <smtpcheck-`}},
		"expn": {"OK", "EXPN refused", nil},
		"rcpt_enum": {"OK", "RCPT tells users apart: 250 for postmaster, 550 for a random name (required of an MX; informational: harvesting is slowed only by limits)", []string{
			"User unknown in local recipient table", "limit harvesting: an MX must refuse unknown recipients at RCPT"}},
		"injection": {"OK", "the NOOP sent in clear text before the handshake was discarded", nil},
		"banner":    {"OK", "names the software: Postfix (informational)", []string{`greeting: "open.smtpcheck.test ESMTP Postfix (smtpcheck open test)"`}},
		"weak_tls": {"WARNING", "accepts TLSv1.0 and TLSv1.1", []string{
			"TLSv1.0 accepted (", "TLSv1.1 accepted (", "TLSv1.2 accepted (", "RC4/3DES suites only: refused"}},
		"smuggling": {"CRITICAL", `the server ended DATA at "\n.\n", "\n.\r\n" (not CRLF.CRLF): mail can be smuggled through it`, []string{
			`message ending "\n.\n" -> "250 2.0.0 Ok: queued as `, `message ending "\n.\r\n" -> "250 2.0.0 Ok: queued as `,
			`message ending "\r.\r\n" -> no reply in `, ` s: the server waited for more (closed without ever ending the message)`}},
	})
	if out.Code != 2 {
		t.Errorf("exit %d, want 2 (CRITICAL)", out.Code)
	}
	// The two messages it took went to the discard transport, not a mailbox.
	ids := regexp.MustCompile(`queued as ([0-9A-F]+)`).FindAllStringSubmatch(strings.Join(got["smuggling"].Evidence, "\n"), -1)
	if len(ids) != 2 {
		t.Fatalf("want 2 queue ids in the smuggling evidence, got %q", ids)
	}
	for _, id := range ids {
		line := waitLogLine(t, op["LOG"], id[1]+": to=<"+rcpt+">, relay=none")
		if !strings.Contains(line, "status=sent (smtpcheck open test server delivers nothing)") {
			t.Errorf("queue id %s was not discarded: %q", id[1], line)
		}
	}
}

// smugglingSubject marks the smuggling probe's message (smuggleText).
const smugglingSubject = "Subject: check_smtp_security: SMTP smuggling probe"

// maildir is the lab Postfix's Maildir of user (.ci/mailserver.sh).
func maildir(t *testing.T, user string) string {
	t.Helper()
	dir := os.Getenv("SMTPCHECK_MAIL_DIR")
	if dir == "" {
		dir = "/tmp/smtpcheck-mail"
	}
	box := filepath.Join(dir, "mail", user)
	if _, err := os.Stat(box); err != nil {
		t.Fatalf("the lab mailbox: %v", err)
	}
	return box
}

// smugglingProbes counts the messages in the Maildir box (any folder) that
// are smuggling probes.
func smugglingProbes(t *testing.T, box string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(box, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(path, "/new/") && !strings.Contains(path, "/cur/") {
			return err
		}
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) { // moved from new/ to cur/ meanwhile
			return nil
		}
		if strings.Contains(string(b), smugglingSubject) {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitSmugglingProbes gives a message the server may have queued the few
// seconds that local delivery takes, and returns the count then (at once
// when it changed).
func waitSmugglingProbes(t *testing.T, box string, before int) int {
	t.Helper()
	for range 30 {
		if n := smugglingProbes(t, box); n != before {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	return smugglingProbes(t, box)
}

// waitLogLine returns the first line of the log file holding sub, waiting
// up to about 5 s for the queue manager to write it.
func waitLogLine(t *testing.T, file, sub string) string {
	t.Helper()
	for range 50 {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, sub) {
				return strings.TrimSpace(line)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: no line with %q", file, sub)
	return ""
}
