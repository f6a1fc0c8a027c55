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
	if got := tr.ScrubCut("535 sent s3cr"); got != "535 sent <redacted>" {
		t.Errorf("ScrubCut = %q", got)
	}
	var none *Transcript
	if got := none.Scrub("s3cr3t!") + none.ScrubCut(" s3cr"); got != "s3cr3t! s3cr" {
		t.Errorf("nil transcript scrubbed: %q", got)
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
