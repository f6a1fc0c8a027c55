package smtp

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces secrets in transcripts.
const Redacted = "<redacted>"

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
	mu      sync.Mutex
	start   time.Time
	entries []Entry
	secrets []string        // the values and their base64 forms, longest first
	added   map[string]bool // the values registered
}

// NewTranscript starts a transcript now.
func NewTranscript() *Transcript { return &Transcript{start: time.Now()} }

// AddSecret registers a value to redact. Empty values are ignored.
func (t *Transcript) AddSecret(s string) {
	if t == nil || s == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.added[s] {
		return // clients name their secrets at every step
	}
	if t.added == nil {
		t.added = map[string]bool{}
	}
	t.added[s] = true
	t.secrets = append(t.secrets, s,
		base64.StdEncoding.EncodeToString([]byte(s)),
		base64.RawStdEncoding.EncodeToString([]byte(s)))
	// Longest first: a PLAIN response echoed whole is replaced whole, not
	// cut up by the password inside it first.
	slices.SortStableFunc(t.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Scrub replaces every registered secret in s.
func (t *Transcript) Scrub(s string) string {
	if t == nil {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.scrub(s)
}

// scrub replaces whole-token matches of short secrets only: one not glued
// to a letter or digit on a side where it has one itself. A plain substring
// replace would turn a password "a" into holes in every word, which reveal
// it as surely as the password. A secret of anywhereRunes or more cannot
// turn up inside ordinary words by chance, so it is replaced wherever it is.
func (t *Transcript) scrub(s string) string {
	for _, sec := range t.secrets {
		s = replaceToken(s, sec)
	}
	return s
}

// replaceToken replaces each occurrence of sec in s that is not inside a
// longer word with Redacted.
func replaceToken(s, sec string) string {
	var b strings.Builder
	done := 0 // s[:done] is in b
	for from := 0; ; {
		i := strings.Index(s[from:], sec)
		if i < 0 {
			break
		}
		i += from
		end := i + len(sec)
		if glued(s[:i], sec, s[end:]) {
			from = i + 1
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(Redacted)
		done, from = end, end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// minCutSecret is the shortest start of a secret that ScrubCut redacts: a
// shorter one would redact words, and tells too little to be worth it.
const minCutSecret = 4

// ScrubCut is Scrub for a text whose end was cut off (the connection closed
// mid-line, a cap): a secret cut there shows only its start, which Scrub
// does not know, so a trailing start of any registered secret, of at least
// minCutSecret bytes, is redacted too.
func (t *Transcript) ScrubCut(s string) string {
	if t == nil {
		return s
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s = t.scrub(s)
	for _, sec := range t.secrets {
		for n := len(sec) - 1; n >= minCutSecret; n-- {
			if head, ok := strings.CutSuffix(s, sec[:n]); ok && !glued(head, sec, "") {
				return head + Redacted
			}
		}
	}
	return s
}

// anywhereRunes is the length from which a secret is redacted even inside
// a longer word (a server gluing "user" and "hunter2-Secret!" together).
const anywhereRunes = 12

// glued reports whether sec, found between before and after, is part of a
// longer word: a letter or digit touches a letter or digit of its edge, as
// \b sees it. A long secret is never taken for part of a word.
func glued(before, sec, after string) bool {
	if utf8.RuneCountInString(sec) >= anywhereRunes {
		return false
	}
	return (wordEnd(before) && wordStart(sec)) || (wordStart(after) && wordEnd(sec))
}

// wordEnd reports whether s ends in a letter or digit; wordStart whether it
// starts with one.
func wordEnd(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return s != "" && isWordRune(r)
}

func wordStart(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return s != "" && isWordRune(r)
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func (t *Transcript) add(dir, text string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = append(t.entries, Entry{At: time.Since(t.start), Dir: dir, Text: t.scrub(text)})
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
	return append([]Entry(nil), t.entries...)
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
