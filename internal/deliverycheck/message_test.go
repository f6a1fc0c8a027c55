package deliverycheck

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

var testDate = time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("", 3600))

func testToken() Token { return Token{Instance: "mx1.prod", Random: "AAAAAAAAAAAAAAAAAAAAAA"} }

// TestNewMessage compares the whole 7-bit message.
func TestNewMessage(t *testing.T) {
	m, err := NewMessage(MessageSpec{From: "monitor@example.org", To: []string{"probe@example.net"}, Token: testToken(), Date: testDate})
	if err != nil {
		t.Fatal(err)
	}
	want := "Date: Tue, 04 Mar 2025 05:06:07 +0100\r\n" +
		"From: <monitor@example.org>\r\n" +
		"To: <probe@example.net>\r\n" +
		"Subject: smtpcheck delivery probe mx1.prod.AAAAAAAAAAAAAAAAAAAAAA\r\n" +
		"Message-ID: <mx1.prod.AAAAAAAAAAAAAAAAAAAAAA@example.org>\r\n" +
		"X-Smtpcheck-Probe: mx1.prod.AAAAAAAAAAAAAAAAAAAAAA\r\n" +
		"Auto-Submitted: auto-generated\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=us-ascii\r\n" +
		"Content-Transfer-Encoding: 7bit\r\n" +
		"\r\n" +
		"This message was sent by check_smtp_delivery to check that mail\r\n" +
		"arrives; it is deleted once found.\r\n" +
		"Probe: mx1.prod.AAAAAAAAAAAAAAAAAAAAAA\r\n"
	if string(m.Bytes) != want {
		t.Errorf("message\n%s\nwant\n%s", m.Bytes, want)
	}
	if m.MessageID != "<mx1.prod.AAAAAAAAAAAAAAAAAAAAAA@example.org>" || m.Params != nil {
		t.Errorf("message id %q, params %q", m.MessageID, m.Params)
	}
}

// TestMessageEncodings: the MAIL parameters follow what the message holds.
func TestMessageEncodings(t *testing.T) {
	for _, tc := range []struct {
		enc    Encoding
		from   string
		params string
	}{
		{SevenBit, "a@example.org", ""},
		{EightBit, "a@example.org", "BODY=8BITMIME"},
		{UTF8, "a@example.org", "BODY=8BITMIME SMTPUTF8"},
		{SevenBit, "jörg@example.org", "SMTPUTF8"},
	} {
		m, err := NewMessage(MessageSpec{From: tc.from, To: []string{"b@example.net"}, Token: testToken(), Date: testDate, Encoding: tc.enc})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(m.Params, " "); got != tc.params {
			t.Errorf("encoding %d from %q: params %q, want %q", tc.enc, tc.from, got, tc.params)
		}
		if cte := bytes.Contains(m.Bytes, []byte("Content-Transfer-Encoding: 8bit\r\n")); cte != (tc.enc != SevenBit) {
			t.Errorf("encoding %d: 8bit header %v", tc.enc, cte)
		}
	}
}

// TestMessagePadding: the size asked for is the size made, every line
// ends CRLF and fits 78 bytes, none starts with a dot.
func TestMessagePadding(t *testing.T) {
	base, _ := NewMessage(MessageSpec{From: "a@example.org", To: []string{"b@example.net"}, Token: testToken(), Date: testDate})
	n := len(base.Bytes)
	for _, size := range []int{0, n - 1, n, n + 1, n + 2, n + 3, n + 78, n + 79, n + 80, n + 155, n + 156, 5 << 20} {
		m, err := NewMessage(MessageSpec{From: "a@example.org", To: []string{"b@example.net"}, Token: testToken(), Date: testDate, Size: size})
		if err != nil {
			t.Fatal(err)
		}
		if want := max(size, n); len(m.Bytes) != want {
			t.Errorf("size %d: got %d bytes, want %d", size, len(m.Bytes), want)
		}
		if !bytes.HasSuffix(m.Bytes, []byte("\r\n")) {
			t.Errorf("size %d: no CRLF at the end", size)
		}
		for i, line := range bytes.SplitAfter(m.Bytes, []byte("\n")) {
			if len(line) > lineMax || len(line) > 0 && !bytes.HasSuffix(line, []byte("\r\n")) || bytes.HasPrefix(line, []byte(".")) {
				t.Fatalf("size %d: line %d %q", size, i, line)
			}
		}
	}
}

// TestMessageToFolded: many recipients fold the To header below 78 bytes.
func TestMessageToFolded(t *testing.T) {
	to := []string{"first.recipient@example.net", "second.recipient@example.net", "third.recipient@example.net"}
	m, err := NewMessage(MessageSpec{From: "a@example.org", To: to, Token: testToken(), Date: testDate})
	if err != nil {
		t.Fatal(err)
	}
	want := "To: <first.recipient@example.net>, <second.recipient@example.net>,\r\n <third.recipient@example.net>\r\n"
	if !bytes.Contains(m.Bytes, []byte(want)) {
		t.Errorf("message\n%s\nlacks\n%s", m.Bytes, want)
	}
}

// TestMessageRefusesControlCharacters: CR, LF or other control characters
// in an address are a usage error, worded like every wire text's.
func TestMessageRefusesControlCharacters(t *testing.T) {
	for _, tc := range []struct {
		spec MessageSpec
		err  string
	}{
		{MessageSpec{From: "a@x\r\nBcc: victim@y", To: []string{"b@y"}, Token: testToken()},
			`--from "a@x\r\nBcc: victim@y": contains a control character ("\r"), which cannot be sent in an SMTP command`},
		{MessageSpec{From: "a@x", To: []string{"b@y", "c@y\n"}, Token: testToken()},
			`--to "c@y\n": contains a control character ("\n"), which cannot be sent in an SMTP command`},
		{MessageSpec{From: "a@x", To: []string{"b@y"}, Token: Token{Instance: "a b", Random: "x"}},
			`probe instance "a b": use 1 to 64 letters, digits, '-', '_' and inner dots`},
		{MessageSpec{From: "a@x", Token: testToken()}, "a probe message needs a From and at least one To address"},
	} {
		_, err := NewMessage(tc.spec)
		var ue *plugin.UsageError
		if !errors.As(err, &ue) || err.Error() != tc.err {
			t.Errorf("err = %v, want the usage error %q", err, tc.err)
		}
	}
}

// TestToken: fresh tokens differ, are URL-safe, and parse back.
func TestToken(t *testing.T) {
	a, err := NewToken("check-1.mx")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken("check-1.mx")
	if a == b || len(a.Random) != randomLen || strings.ContainsAny(a.Random, "+/=") {
		t.Errorf("tokens %q and %q", a, b)
	}
	if got, ok := ParseToken(" " + a.String() + " "); !ok || got != a {
		t.Errorf("ParseToken(%q) = %v, %v", a, got, ok)
	}
	for _, bad := range []string{"", "nodot", "x.short", ".AAAAAAAAAAAAAAAAAAAAAA", "a b.AAAAAAAAAAAAAAAAAAAAAA", "x.AAAAAAAAAAAAAAAAAAAAA!"} {
		if _, ok := ParseToken(bad); ok {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", ".a", "a.", "a..b", "a/b", strings.Repeat("x", 65)} {
		if _, err := NewToken(bad); err == nil {
			t.Errorf("NewToken(%q) accepted", bad)
		}
	}
}

// TestMessageExtraHeaders: extra header lines go after ours, before the
// body; a line that is no header, or carries a line break, is refused.
func TestMessageExtraHeaders(t *testing.T) {
	spec := MessageSpec{From: "monitor@example.org", To: []string{"probe@example.net"}, Token: testToken(), Date: testDate, Extra: []string{"X-Lab-Junk: yes"}}
	m, err := NewMessage(spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m.Bytes), "Content-Transfer-Encoding: 7bit\r\nX-Lab-Junk: yes\r\n\r\nThis message") {
		t.Errorf("message\n%s", m.Bytes)
	}
	for _, bad := range []string{"no colon", "Bad Name: x", "X-A: b\r\nBcc: c@d"} {
		spec.Extra = []string{bad}
		if _, err := NewMessage(spec); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
