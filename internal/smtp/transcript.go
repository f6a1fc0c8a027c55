package smtp

import (
	"fmt"
	"sync"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/redact"
)

// Redacted replaces secrets in transcripts.
const Redacted = redact.Redacted

// Entry is one transcript line. Dir is "C" (client), "S" (server) or "*" (note).
type Entry struct {
	At   time.Duration // since the transcript started
	Dir  string
	Text string
}

// Transcript records a session. Every text that enters it is scrubbed of the
// registered secrets (and their base64 forms), so nothing that reads it later,
// -v output or JSON, can leak one, whatever the call site forgot.
type Transcript struct {
	secrets redact.Set // scrubs what enters; locks on its own
	mu      sync.Mutex
	start   time.Time
	entries []Entry
	dropped int  // entries beyond MaxEntries, counted
	quiet   bool // scrubs, records nothing (a Conn without a transcript)
}

// MaxEntries bounds a transcript: a long session (check_smtp_load's
// --per-session keeps its first session's) must not grow it, and the
// memory it holds, without end. What follows is counted, not kept.
const MaxEntries = 10000

// NewTranscript starts a transcript now.
func NewTranscript() *Transcript { return &Transcript{start: time.Now()} }

// AddSecret registers a value to redact, with its base64 forms. Empty
// values are ignored.
func (t *Transcript) AddSecret(s string) {
	if t != nil {
		t.secrets.Add(s)
	}
}

// AddLongSecret registers the forms of s that are redacted even inside a
// word (redact.Set.AddLong): for the lines read before AUTH sends it.
func (t *Transcript) AddLongSecret(s string) {
	if t != nil {
		t.secrets.AddLong(s)
	}
}

// ScrubLong is Scrub with those forms alone (redact.Set.ScrubLong): for
// server text read before AUTH, such as the banner.
func (t *Transcript) ScrubLong(s string) string {
	if t == nil {
		return s
	}
	return t.secrets.ScrubLong(s)
}

// Scrub replaces every registered secret in s (see package redact).
func (t *Transcript) Scrub(s string) string {
	if t == nil {
		return s
	}
	return t.secrets.Scrub(s)
}

// ScrubCut is Scrub for a text whose end was cut off: a trailing start of
// a registered secret is redacted too (see redact.Set.ScrubCut).
func (t *Transcript) ScrubCut(s string) string {
	if t == nil {
		return s
	}
	return t.secrets.ScrubCut(s)
}

func (t *Transcript) add(dir, text string) {
	if t == nil || t.quiet {
		return
	}
	text = t.secrets.Scrub(text)
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= MaxEntries {
		t.dropped++
		return
	}
	t.entries = append(t.entries, Entry{At: time.Since(t.start), Dir: dir, Text: text})
}

// Note records a remark that is not on the wire (TLS established, connection closed).
func (t *Transcript) Note(text string) { t.add("*", text) }

// Entries returns a copy of what was recorded.
func (t *Transcript) Entries() []Entry {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]Entry(nil), t.entries...)
	if t.dropped > 0 {
		out = append(out, Entry{At: time.Since(t.start), Dir: "*", Text: fmt.Sprintf("%d more lines not kept (a transcript keeps %d)", t.dropped, MaxEntries)})
	}
	return out
}

// Lines renders the entries as "C: EHLO x" / "S: 250 ok" / "* note".
func (t *Transcript) Lines() []string { return t.render(false) }

// TimedLines prefixes each line with its time since the start, in seconds:
// "+0.012 S: 250 ok".
func (t *Transcript) TimedLines() []string { return t.render(true) }

// ForVerbosity is what -v shows (the lines) and -vv (the timed lines).
func (t *Transcript) ForVerbosity(v int) []string { return t.render(v > 1) }

func (t *Transcript) render(timed bool) []string {
	var out []string
	for _, e := range t.Entries() {
		line := e.Dir + ": " + e.Text
		if e.Dir == "*" {
			line = "* " + e.Text
		}
		if timed {
			line = fmt.Sprintf("+%.3f %s", e.At.Seconds(), line)
		}
		out = append(out, line)
	}
	return out
}
