// Package redact replaces registered secrets in text with Redacted. The SMTP
// transcript records through it, and the secret stores scrub the messages of
// the services they ask, so neither has to know the other.
package redact

import (
	"encoding/base64"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Redacted replaces a secret.
const Redacted = "<redacted>"

// Set is the secrets to redact. The zero value is empty and ready; a Set is
// safe for concurrent use (a transcript is read while a session records),
// and must not be copied after first use.
type Set struct {
	mu      sync.Mutex
	secrets []string        // the values and their base64 forms, longest first
	added   map[string]bool // the values registered
}

// Add registers a value to redact, with its base64 forms (padded and raw),
// in which SASL sends it. Empty values are ignored: they would redact
// everything.
func (s *Set) Add(secret string) {
	if s == nil || secret == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.added[secret] {
		return // clients name their secrets at every step
	}
	if s.added == nil {
		s.added = map[string]bool{}
	}
	s.added[secret] = true
	s.add(forms(secret))
}

// AddLong registers those of secret's forms (as Add) that are redacted
// even inside a word (anywhereRunes), for text read before the secret is
// sent: a server that knows it may show it there, but a short secret may
// be an ordinary word of the server's, which redacting would point out.
func (s *Set) AddLong(secret string) {
	if s == nil || secret == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(slices.DeleteFunc(forms(secret), func(f string) bool { return !long(f) }))
}

// add appends the forms not registered yet, longest first: a PLAIN
// response echoed whole is replaced whole, not cut up by the password
// inside it first.
func (s *Set) add(fs []string) {
	for _, f := range fs {
		if !slices.Contains(s.secrets, f) {
			s.secrets = append(s.secrets, f)
		}
	}
	slices.SortStableFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
}

// forms are secret as it is, its base64 forms (padded and raw), in which
// SASL sends it, and its characters inside a longer base64 text.
func forms(secret string) []string {
	return append([]string{secret,
		base64.StdEncoding.EncodeToString([]byte(secret)),
		base64.RawStdEncoding.EncodeToString([]byte(secret))}, inBase64(secret)...)
}

// long reports whether sec is redacted even inside a word.
func long(sec string) bool { return utf8.RuneCountInString(sec) >= anywhereRunes }

// inBase64 is how secret shows inside a longer base64 text, such as a
// SASL challenge that quotes it ("e=bad password for <secret>"): at each
// of the three byte offsets a base64 group can start at, the characters
// that encode the secret's bytes alone, without those of its neighbours.
// Only forms long enough to be redacted inside a word (anywhereRunes) are
// kept: a base64 text is one word.
func inBase64(secret string) []string {
	var forms []string
	for k, drop := range [3]int{0, 2, 3} { // bytes before it, characters they touch
		b := append(make([]byte, k, k+len(secret)), secret...)
		b = b[:len(b)-len(b)%3] // a last partial group depends on what follows
		if enc := base64.RawStdEncoding.EncodeToString(b); len(enc)-drop >= anywhereRunes {
			forms = append(forms, enc[drop:])
		}
	}
	return forms
}

// Scrub replaces every registered secret in text.
func (s *Set) Scrub(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scrub(text)
}

// ScrubLong is Scrub with the forms AddLong would register alone: for text
// read before the secrets were sent (a banner), which a short one found in
// it was not echoed into.
func (s *Set) ScrubLong(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.secrets {
		if long(sec) {
			text = replaceToken(text, sec)
		}
	}
	return text
}

// scrub replaces whole-token matches of short secrets only: one not glued
// to a letter or digit on a side where it has one itself. A plain substring
// replace would turn a password "a" into holes in every word, which reveal
// it as surely as the password. A secret of anywhereRunes or more cannot
// turn up inside ordinary words by chance, so it is replaced wherever it is.
func (s *Set) scrub(text string) string {
	for _, sec := range s.secrets {
		text = replaceToken(text, sec)
	}
	return text
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
func (s *Set) ScrubCut(text string) string {
	if s == nil {
		return text
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	text = s.scrub(text)
	for _, sec := range s.secrets {
		for n := len(sec) - 1; n >= minCutSecret; n-- {
			if head, ok := strings.CutSuffix(text, sec[:n]); ok && !glued(head, sec, "") {
				return head + Redacted
			}
		}
	}
	return text
}

// anywhereRunes is the length from which a secret is redacted even inside
// a longer word (a server gluing "user" and "hunter2-Secret!" together).
const anywhereRunes = 12

// glued reports whether sec, found between before and after, is part of a
// longer word: a letter or digit touches a letter or digit of its edge, as
// \b sees it. A long secret is never taken for part of a word.
func glued(before, sec, after string) bool {
	if long(sec) {
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
