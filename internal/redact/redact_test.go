package redact

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Empty values are ignored (they would redact everything), a nil Set
// scrubs nothing, and base64 forms, padded and raw, are redacted too.
func TestAdd(t *testing.T) {
	var set Set
	set.Add("")
	set.Add("s3cr3t!")
	set.Add("s3cr3t!") // again: registered once
	if got := set.Scrub("s3cr3t! czNjcjN0IQ== czNjcjN0IQ ok"); got != "<redacted> <redacted> <redacted> ok" {
		t.Errorf("Scrub = %q", got)
	}
	if len(set.secrets) != 3 {
		t.Errorf("%d forms registered, want 3: %q", len(set.secrets), set.secrets)
	}
	var none *Set
	none.Add("x")
	if got := none.Scrub("x y"); got != "x y" {
		t.Errorf("nil Scrub = %q", got)
	}
	if got := none.ScrubCut("x y"); got != "x y" {
		t.Errorf("nil ScrubCut = %q", got)
	}
}

// A Set is added to and read at once (run with -race).
func TestConcurrent(t *testing.T) {
	var set Set
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				set.Add(fmt.Sprintf("pw-%d-%d", g, i))
				_ = set.Scrub("x pw-0-0 y")
				_ = set.ScrubCut("x pw-0")
			}
		})
	}
	wg.Wait()
	if got := set.Scrub("pw-3-49 pw-0-0"); got != "<redacted> <redacted>" {
		t.Errorf("Scrub = %q", got)
	}
}

// A secret that contains another (PLAIN's "\x00user\x00pass" holds the
// password) is replaced whole, whatever the order they were registered in.
func TestLongestFirst(t *testing.T) {
	var set Set
	set.Add("hunter2")
	set.Add("\x00alice\x00hunter2")
	if got := set.Scrub("535 got \x00alice\x00hunter2"); got != "535 got <redacted>" {
		t.Errorf("Scrub = %q", got)
	}
}

// Only whole tokens are redacted: a password that is an ordinary word, or
// one letter, must not punch holes into other words (which would show it).
func TestWholeTokens(t *testing.T) {
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
		var set Set
		set.Add(c.secret)
		if got := set.Scrub(c.in); got != c.want {
			t.Errorf("secret %q: Scrub(%q) = %q, want %q", c.secret, c.in, got, c.want)
		}
	}
}

// A text cut off inside a secret shows its start: ScrubCut redacts a
// trailing start of at least minCutSecret bytes, in any registered form.
func TestScrubCut(t *testing.T) {
	var set Set
	set.Add("S3cr3t-Pw0rd")
	set.Add("abc")
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
		if got := set.ScrubCut(c.in); got != c.want {
			t.Errorf("ScrubCut(%q) = %q, want %q", c.in, got, c.want)
		}
		if c.want == c.in && set.Scrub(c.in) != c.in {
			t.Errorf("Scrub(%q) changed it", c.in)
		}
	}
}

// A long secret quoted inside a longer base64 text (a SASL challenge
// echoing the password), at any byte offset, is redacted: no run of base64
// left in the output decodes to the secret's inside.
func TestInsideBase64(t *testing.T) {
	const secret = "hunter2-Secret!"
	var set Set
	set.Add(secret)
	for lead := range 7 {
		text := "e=authentication failed for user mon, password "[:40+lead] + secret + " (try again)"
		line := "334 " + base64.StdEncoding.EncodeToString([]byte(text))
		out := set.Scrub(line)
		if !strings.Contains(out, Redacted) || reveals(out, secret[1:len(secret)-1]) {
			t.Errorf("secret after %d bytes: %q decodes to it", 40+lead, out)
		}
	}
	// The forms are the secret's own characters: base64 that does not hold
	// it is left as it is.
	other := "334 " + base64.StdEncoding.EncodeToString([]byte("e=authentication failed for user mon, no password given"))
	if got := set.Scrub(other); got != other {
		t.Errorf("Scrub(%q) = %q", other, got)
	}
}

// reveals reports whether a base64 run in s, read from any of its four
// character alignments, decodes to bytes holding inside.
func reveals(s, inside string) bool {
	for _, run := range strings.FieldsFunc(s, func(r rune) bool {
		return !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", r)
	}) {
		for shift := range 4 {
			if shift >= len(run) {
				break
			}
			r := run[shift:]
			r = r[:len(r)-len(r)%4]
			if b, err := base64.RawStdEncoding.DecodeString(r); err == nil && strings.Contains(string(b), inside) {
				return true
			}
		}
	}
	return false
}

// AddLong registers only the forms redacted inside a word: a short secret
// (an ordinary word, perhaps) is left to Add; ScrubLong applies those forms
// alone, whatever Add registered since.
func TestLong(t *testing.T) {
	var set Set
	set.AddLong("Postfix")
	set.AddLong("hunter2-Secret!")
	if got := set.Scrub("Postfix hunter2-Secret!"); got != "Postfix <redacted>" {
		t.Errorf("Scrub after AddLong = %q", got)
	}
	set.Add("Postfix")
	if got := set.ScrubLong("ESMTP Postfix hunter2-Secret!"); got != "ESMTP Postfix <redacted>" {
		t.Errorf("ScrubLong = %q", got)
	}
	if got := set.Scrub("ESMTP Postfix"); got != "ESMTP <redacted>" {
		t.Errorf("Scrub after Add = %q", got)
	}
}
