package deliverycheck

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// ProbeHeader is the header that carries a probe's token: the IMAP side
// finds our probes by it (UID SEARCH HEADER), and by nothing looser.
const ProbeHeader = "X-Smtpcheck-Probe"

// Token names one probe: Instance is stable per check definition (so that
// a run can tell its own stale probes from another check's), Random is new
// for every message.
type Token struct {
	Instance string
	Random   string
}

// randomLen is the length of Random: 16 bytes from crypto/rand, base64url.
const randomLen = 22

// String is the token as it appears in the header: "<instance>.<random>".
func (t Token) String() string { return t.Instance + "." + t.Random }

// NewToken draws a fresh random part for instance.
func NewToken(instance string) (Token, error) {
	if err := checkInstance(instance); err != nil {
		return Token{}, err
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return Token{Instance: instance, Random: base64.RawURLEncoding.EncodeToString(b[:])}, nil
}

// ParseToken reads a header value written by String; ok is false for
// anything else (another tool's header, a truncated value).
func ParseToken(s string) (t Token, ok bool) {
	s = strings.TrimSpace(s)
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return Token{}, false
	}
	t = Token{Instance: s[:i], Random: s[i+1:]}
	if checkInstance(t.Instance) != nil || len(t.Random) != randomLen {
		return Token{}, false
	}
	if _, err := base64.RawURLEncoding.DecodeString(t.Random); err != nil {
		return Token{}, false
	}
	return t, true
}

// checkInstance allows what a Message-ID's left side and an IMAP search
// carry unquoted: letters, digits, '-', '_' and single inner dots.
func checkInstance(s string) error {
	ok := s != "" && len(s) <= 64 && s[0] != '.' && s[len(s)-1] != '.' && !strings.Contains(s, "..") &&
		!strings.ContainsFunc(s, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.')
		})
	if !ok {
		return plugin.Usagef("probe instance %q: use 1 to 64 letters, digits, '-', '_' and inner dots", s)
	}
	return nil
}

// Encoding is the kind of text a probe message carries.
type Encoding int

// The encodings. The message says which MAIL FROM parameters it needs.
const (
	SevenBit Encoding = iota // ASCII only
	EightBit                 // a UTF-8 body: BODY=8BITMIME (RFC 6152)
	UTF8                     // UTF-8 in the Subject too: SMTPUTF8 (RFC 6531) as well
)

// MessageSpec is what a probe message is made of.
type MessageSpec struct {
	From     string   // the From address, as given to MAIL FROM
	To       []string // the To addresses
	Token    Token
	Date     time.Time
	Size     int // total size wanted in bytes; a smaller one (or 0) adds no padding
	Encoding Encoding
	// Extra are header lines ("Name: value") added after ours: the real
	// tests' way to have the lab's Sieve rule file the probe into Junk.
	Extra []string
}

// Message is a probe message ready for probe.Session.Submit.
type Message struct {
	Bytes     []byte   // header and body, CRLF line ends
	MessageID string   // with its angle brackets
	Subject   string   // as in the header
	Params    []string // the MAIL FROM parameters it needs: "BODY=8BITMIME", "SMTPUTF8"
}

// lineMax is the line length kept (RFC 5322 §2.1.1: 78 recommended, 998
// at most), CRLF included.
const lineMax = 78

// NewMessage builds the probe message of spec. Addresses with a control
// character are a usage error (they would break the header, and the SMTP
// command); the token appears in its header, the Subject and the
// Message-ID.
func NewMessage(spec MessageSpec) (*Message, error) {
	if err := plugin.WireText("--from", spec.From); err != nil {
		return nil, err
	}
	if err := plugin.WireText("--to", spec.To...); err != nil {
		return nil, err
	}
	for _, h := range spec.Extra {
		if name, _, ok := strings.Cut(h, ":"); !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, plugin.Usagef("header %q: want Name: value", h)
		}
	}
	if err := plugin.WireText("header", spec.Extra...); err != nil {
		return nil, err
	}
	if spec.From == "" || len(spec.To) == 0 {
		return nil, plugin.Usagef("a probe message needs a From and at least one To address")
	}
	if err := checkInstance(spec.Token.Instance); err != nil {
		return nil, err
	}
	tok := spec.Token.String()
	domain := "smtpcheck.invalid"
	if i := strings.LastIndexByte(spec.From, '@'); i >= 0 && i+1 < len(spec.From) {
		domain = spec.From[i+1:]
	}
	m := &Message{MessageID: "<" + tok + "@" + domain + ">", Subject: "smtpcheck delivery probe " + tok}
	charset, cte := "us-ascii", "7bit"
	if spec.Encoding != SevenBit {
		charset, cte = "utf-8", "8bit"
	}
	if spec.Encoding == UTF8 {
		m.Subject = "smtpcheck delivery probe ✓ " + tok
	}

	var b bytes.Buffer
	b.Grow(max(spec.Size, 1024))
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", spec.Date.Format(time.RFC1123Z))
	header("From", "<"+spec.From+">")
	b.WriteString(foldList("To", spec.To))
	header("Subject", m.Subject)
	header("Message-ID", m.MessageID)
	header(ProbeHeader, tok)
	header("Auto-Submitted", "auto-generated") // RFC 3834: no vacation replies to a probe
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset="+charset)
	header("Content-Transfer-Encoding", cte)
	for _, h := range spec.Extra {
		b.WriteString(h + "\r\n")
	}
	headerEnd := b.Len()
	b.WriteString("\r\nThis message was sent by check_smtp_delivery to check that mail\r\n")
	b.WriteString("arrives; it is deleted once found.\r\n")
	if spec.Encoding != SevenBit {
		b.WriteString("Grüße, Überwachung ✓\r\n")
	}
	b.WriteString("Probe: " + tok + "\r\n")
	pad(&b, spec.Size-b.Len())

	m.Bytes = b.Bytes()
	if !ascii(m.Bytes[headerEnd:]) {
		m.Params = append(m.Params, "BODY=8BITMIME")
	}
	if !ascii(m.Bytes[:headerEnd]) {
		m.Params = append(m.Params, "SMTPUTF8")
	}
	return m, nil
}

// foldList writes a header of comma-separated addresses, folded before an
// address that would take its line past lineMax.
func foldList(name string, addrs []string) string {
	var b strings.Builder
	line := name + ":"
	for i, a := range addrs {
		item := " <" + a + ">"
		if i < len(addrs)-1 {
			item += ","
		}
		if len(line)+len(item)+2 > lineMax && line != name+":" {
			b.WriteString(line + "\r\n")
			line = ""
		}
		line += item
	}
	b.WriteString(line + "\r\n")
	return b.String()
}

// padLine fills padding lines; no line starts with a dot or looks like a header.
var padLine = strings.Repeat("smtpcheck padding ", 5)[:lineMax-2]

// pad appends n bytes of padding lines of at most lineMax bytes each. A
// single byte cannot be a line: it lengthens the last line instead.
func pad(b *bytes.Buffer, n int) {
	switch {
	case n <= 0:
		return
	case n == 1:
		b.Truncate(b.Len() - 2)
		b.WriteString(".\r\n")
		return
	}
	full, rest := n/lineMax, n%lineMax
	if rest == 1 { // 78+1 = 77 + an empty line
		full--
		rest = lineMax + 1
	}
	for range full {
		b.WriteString(padLine + "\r\n")
	}
	if rest == lineMax+1 {
		b.WriteString(padLine[:lineMax-3] + "\r\n\r\n")
	} else if rest > 0 {
		b.WriteString(padLine[:rest-2] + "\r\n")
	}
}

func ascii(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
