package smtp

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestTranscript(t *testing.T) {
	tr := NewTranscript()
	tr.AddSecret("") // ignored: it would redact everything
	tr.AddSecret("s3cr3t!")
	tr.add("C", "AUTH PLAIN czNjcjN0IQ==")
	tr.add("S", "535 5.7.8 s3cr3t! is wrong, and czNjcjN0IQ too")
	tr.Note("connection closed")

	checkLines(t, tr, []string{
		"C: AUTH PLAIN <redacted>",
		"S: 535 5.7.8 <redacted> is wrong, and <redacted> too",
		"* connection closed",
	})
	es := tr.Entries()
	if len(es) != 3 {
		t.Fatalf("%d entries", len(es))
	}
	for i, dir := range []string{"C", "S", "*"} {
		if es[i].Dir != dir {
			t.Errorf("entry %d Dir = %q, want %q", i, es[i].Dir, dir)
		}
		if i > 0 && es[i].At < es[i-1].At {
			t.Errorf("entry %d At %v before entry %d At %v", i, es[i].At, i-1, es[i-1].At)
		}
	}
	es[0].Text = "changed"
	if tr.Entries()[0].Text != "AUTH PLAIN <redacted>" {
		t.Error("Entries does not return a copy")
	}
	if got := tr.Scrub("s3cr3t! czNjcjN0IQ== ok"); got != "<redacted> <redacted> ok" {
		t.Errorf("Scrub = %q", got)
	}
}

// A secret covers what is recorded after it is registered, not before:
// callers register secrets before the session starts.
func TestTranscriptSecretOrder(t *testing.T) {
	tr := NewTranscript()
	tr.add("C", "before pw")
	tr.AddSecret("pw")
	tr.add("C", "after pw")
	checkLines(t, tr, []string{"C: before pw", "C: after <redacted>"})
}

// The transcript may be read while a session is recording (run with -race).
func TestTranscriptConcurrent(t *testing.T) {
	tr := NewTranscript()
	tr.AddSecret("pw")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				tr.add("C", fmt.Sprintf("%d/%d pw", g, i))
				_ = tr.Lines()
			}
		})
	}
	wg.Wait()
	lines := tr.Lines()
	if len(lines) != 200 {
		t.Fatalf("%d lines, want 200", len(lines))
	}
	for _, l := range lines {
		if l[len(l)-len(Redacted):] != Redacted {
			t.Errorf("line %q not scrubbed", l)
		}
	}
}

func TestTimedLines(t *testing.T) {
	tr := NewTranscript()
	tr.Note("connected")
	tr.AddSecret("hunter2")
	tr.add("C", "AUTH PLAIN hunter2")
	got := tr.TimedLines()
	if len(got) != 2 || !strings.HasPrefix(got[0], "+0.0") || !strings.HasSuffix(got[0], " * connected") ||
		!strings.HasSuffix(got[1], " C: AUTH PLAIN <redacted>") {
		t.Errorf("TimedLines() = %q", got)
	}
}

// A secret that contains another (PLAIN's "\x00user\x00pass" holds the
// password) is replaced whole, whatever the order they were registered in.
func TestScrubLongestFirst(t *testing.T) {
	tr := NewTranscript()
	tr.AddSecret("hunter2")
	tr.AddSecret("\x00alice\x00hunter2")
	if got := tr.Scrub("535 got \x00alice\x00hunter2"); got != "535 got <redacted>" {
		t.Errorf("Scrub = %q", got)
	}
}

// Only whole tokens are redacted: a password that is an ordinary word, or
// one letter, must not punch holes into other words (which would show it).
func TestScrubWholeTokens(t *testing.T) {
	cases := []struct{ secret, in, want string }{
		{"wrong", "wrong user name or password", "<redacted> user name or password"},
		{"wrong", "535 5.7.8 wrongly typed, headstrong", "535 5.7.8 wrongly typed, headstrong"},
		{"a", "535 a bad password", "535 <redacted> bad password"},
		{"a", "550 mailbox unavailable", "550 mailbox unavailable"},
		{"Postfix", "220 mx ESMTP Postfix (Debian)", "220 mx ESMTP <redacted> (Debian)"},
		{"Postfix", "220 mx ESMTP Postfix2", "220 mx ESMTP Postfix2"},
		{"hunter2", "x=hunter2;hunter2.", "x=<redacted>;<redacted>."},
		{"hunter2", "hunter2hunter2 hunter2", "hunter2hunter2 <redacted>"},
		{"pässwört", "über pässwört", "über <redacted>"},
		{"pässwört", "überpässwört", "überpässwört"},
		{"hunter2", "in base64 aHVudGVyMg== and raw aHVudGVyMg", "in base64 <redacted> and raw <redacted>"},
		// An edge that is no letter or digit cannot be glued on that side.
		{"!Pw2024", "535 pass!Pw2024 wrong", "535 pass<redacted> wrong"},
		{"Pw2024!", "535 Pw2024!x wrong", "535 <redacted>x wrong"},
		{"!Pw2024", "535 pass!Pw2024x wrong", "535 pass!Pw2024x wrong"},
		// A long secret is no ordinary word: redacted even inside one.
		{"S3cr3t-Pw0rd-long", "535 aliceS3cr3t-Pw0rd-longX", "535 alice<redacted>X"},
	}
	for _, c := range cases {
		tr := NewTranscript()
		tr.AddSecret(c.secret)
		if got := tr.Scrub(c.in); got != c.want {
			t.Errorf("secret %q: Scrub(%q) = %q, want %q", c.secret, c.in, got, c.want)
		}
	}
}

// A text cut off inside a secret shows its start: ScrubCut redacts a
// trailing start of at least minCutSecret bytes, in any registered form.
func TestScrubCut(t *testing.T) {
	tr := NewTranscript()
	tr.AddSecret("S3cr3t-Pw0rd")
	tr.AddSecret("abc")
	cases := []struct{ in, want string }{
		{"535 you sent S3cr3t-Pw0", "535 you sent <redacted>"},
		{"535 you sent S3cr", "535 you sent <redacted>"},
		{"535 you sent S3c", "535 you sent S3c"}, // too short to tell
		{"535 you sent S3cr3t-Pw0rd", "535 you sent <redacted>"},
		{"535 you sent xS3cr3t-Pw0", "535 you sent x<redacted>"}, // a long secret needs no word of its own
		{"535 you sent " + "UzNjcjN0LVB3MH", "535 you sent <redacted>"},
		{"535 abc", "535 <redacted>"}, // shorter than the minimum: whole only
		{"535 ab", "535 ab"},
	}
	for _, c := range cases {
		if got := tr.ScrubCut(c.in); got != c.want {
			t.Errorf("ScrubCut(%q) = %q, want %q", c.in, got, c.want)
		}
		if c.want == c.in && tr.Scrub(c.in) != c.in {
			t.Errorf("Scrub(%q) changed it", c.in)
		}
	}
}

// quote cuts after the scrub: a secret across its 60-byte cut is replaced
// whole before, so neither half is shown.
func TestQuoteCutAfterScrub(t *testing.T) {
	const pw = "Correct-Horse-Battery-Staple"
	line := "5x5 " + strings.Repeat("x", 44) + " " + pw + " tail\r\n"
	c, _, _ := dial(line, false, pw)
	_, err := c.ReadReply()
	want := `malformed reply: expected a three-digit reply code: "5x5 ` + strings.Repeat("x", 44) + ` <redacted> "...`
	checkErr(t, err, want)
}
