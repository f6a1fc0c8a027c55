package saslprep

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/xdg-go/stringprep"
	"golang.org/x/text/unicode/norm"
)

// RFC 4013 §3's examples, and the mappings SCRAM users meet.
func TestExamples(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"I\u00ADX", "IX", nil},       // SOFT HYPHEN mapped to nothing
		{"user", "user", nil},         // no transformation
		{"USER", "USER", nil},         // case preserved
		{"\u00AA", "a", nil},          // output is NFKC, input in ISO 8859-1
		{"\u2168", "IX", nil},         // output is NFKC, will match 1st example
		{"\u0007", "", ErrProhibited}, // prohibited character
		{"\u0627\u0031", "", ErrBidi}, // RandALCat character is not the last
		{"a\u00A0b", "a b", nil},      // non-ASCII space mapped to SPACE
		{"a\u200Bb", "ab", nil},       // ZERO WIDTH SPACE: B.1 wins over C.1.2
		{"a\u1806b", "ab", nil},       // MONGOLIAN TODO SOFT HYPHEN: B.1
		{"\uFF50\uFF41\uFF53\uFF53", "pass", nil},
		{"\u0627\u0628", "\u0627\u0628", nil},
		{"\u0627a\u0628", "", ErrBidi}, // RandAL with L
		{"pass\x7f", "", ErrProhibited},
		{"p\u00e4ss\u0000", "", ErrProhibited},
		{"\uE000", "", ErrProhibited},     // private use
		{"\U0010FFFD", "", ErrProhibited}, // private use, plane 16
		{"\U000E0041", "", ErrProhibited}, // a tag character (C.9)
		{"\u0221", "", ErrUnassigned},     // assigned in Unicode 4.0
		{"\U0001F600", "", ErrUnassigned}, // an emoji: Unicode 6.1
		{"\U0001F100", "", ErrUnassigned}, // DIGIT ZERO FULL STOP: 5.2; today's NFKC gives "0."
		{"caf\xe9", "", ErrInvalidUTF8},   // ISO 8859-1, not UTF-8
		{"", "", nil},
	} {
		got, err := Stored(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Stored(%+q) = %+q, %v; want %+q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
	if got, err := Query("\u0221x\U0001F600"); err != nil || got != "\u0221x\U0001F600" {
		t.Errorf("Query passes unassigned code points: %+q %v", got, err)
	}
	if _, err := Query("\u0007"); !errors.Is(err, ErrProhibited) {
		t.Errorf("Query: %v", err)
	}
}

// xdgMissesB1 is in RFC 3454's table B.1 ("1806; ; Map to nothing",
// MONGOLIAN TODO SOFT HYPHEN) but missing from xdg-go/stringprep's copy.
const xdgMissesB1 = 0x1806

// Every table against xdg-go/stringprep's transcription of RFC 3454, over
// all of Unicode. Ours come from Python's stringprep (Unicode 3.2.0 data):
// two independent sources that must agree, but for xdgMissesB1.
func TestTablesMatchRFC3454(t *testing.T) {
	b1 := func(r rune) bool { _, ok := stringprep.TableB1[r]; return ok || r == xdgMissesB1 }
	prohibited := func(r rune) bool {
		for _, s := range []stringprep.Set{stringprep.TableC1_2, stringprep.TableC2_1, stringprep.TableC2_2,
			stringprep.TableC3, stringprep.TableC4, stringprep.TableC5, stringprep.TableC6, stringprep.TableC7,
			stringprep.TableC8, stringprep.TableC9} {
			if s.Contains(r) {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		name string
		ours []span
		ref  func(rune) bool
	}{
		{"A.1", tableA1[:], stringprep.TableA1.Contains},
		{"B.1", tableB1[:], b1},
		{"C.1.2 less B.1", tableSpace[:], func(r rune) bool { return stringprep.TableC1_2.Contains(r) && !b1(r) }},
		{"C.1.2–C.9", tableProhibited[:], prohibited},
		{"D.1", tableRandAL[:], stringprep.TableD1.Contains},
		{"D.2", tableL[:], stringprep.TableD2.Contains},
	} {
		n := 0
		for r := rune(0); r <= 0x10FFFF; r++ {
			if in(tc.ours, r) != tc.ref(r) {
				if n++; n <= 5 {
					t.Errorf("%s: U+%04X ours %t, RFC 3454 %t", tc.name, r, in(tc.ours, r), tc.ref(r))
				}
			}
		}
		if n > 0 {
			t.Errorf("%s: %d code points differ", tc.name, n)
		}
		for i := 1; i < len(tc.ours); i++ {
			if tc.ours[i].lo <= tc.ours[i-1].hi+1 || tc.ours[i].lo > tc.ours[i].hi {
				t.Errorf("%s: spans %d, %d not sorted and disjoint", tc.name, i-1, i)
			}
		}
	}
}

// diff compares Stored with xdg-go's SASLprep on s and returns "" when they
// agree, the name of a known class of difference, or a description of an
// unexplained one.
//
// The known classes:
//   - a code point unassigned in Unicode 3.2 (table A.1) that today's NFKC
//     decomposes. xdg-go normalizes first and tests A.1 on the result, so it
//     accepts e.g. U+1F100 as "0."; Unicode 3.2 had no decomposition for it,
//     so a stored string holding it is refused, as here;
//   - U+1806, which RFC 3454 maps to nothing and xdg-go keeps: xdg-go's
//     answer with U+1806 deleted from the input must be ours.
func diff(s string) string {
	ours, oerr := Stored(s)
	ref, rerr := stringprep.SASLprep.Prepare(s)
	if (oerr != nil) == (rerr != nil) && ours == ref {
		return ""
	}
	class := ""
	if strings.ContainsRune(s, xdgMissesB1) {
		class = "U+1806 missing from xdg-go's B.1"
		ref, rerr = stringprep.SASLprep.Prepare(strings.ReplaceAll(s, string(rune(xdgMissesB1)), ""))
		if (oerr != nil) == (rerr != nil) && ours == ref {
			return class
		}
	}
	if errors.Is(oerr, ErrUnassigned) && rerr == nil {
		for _, r := range s {
			if in(tableA1[:], r) && norm.NFKC.String(string(r)) != string(r) {
				return strings.TrimPrefix(class+", ", ", ") + "unassigned in 3.2, decomposed by today's NFKC"
			}
		}
	}
	return fmt.Sprintf("%+q: ours %+q %v, xdg-go %+q %v", s, ours, oerr, ref, rerr)
}

// Every code point, alone and between ASCII letters, against
// xdg-go/stringprep: the BMP, planes 1 and 2, and the rest.
func TestDifferentialCodePoints(t *testing.T) {
	classes := map[string]int{}
	bad := 0
	for r := rune(0); r <= 0x10FFFF; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue // a surrogate is no UTF-8 (see TestInvalidUTF8)
		}
		for _, s := range []string{string(r), "a" + string(r) + "b"} {
			tally(t, diff(s), classes, &bad)
		}
	}
	if bad > 0 {
		t.Errorf("%d unexplained differences", bad)
	}
	t.Logf("known differences: %v", classes)
}

// tally files one difference from diff: "" (none), a known class, or an
// error (the first 20 are printed).
func tally(t *testing.T, d string, classes map[string]int, bad *int) {
	t.Helper()
	switch {
	case d == "":
	case strings.HasPrefix(d, "unassigned"), strings.HasPrefix(d, "U+1806"):
		classes[d]++
	default:
		if *bad++; *bad <= 20 {
			t.Error(d)
		}
	}
}

// Random strings mixing scripts, spaces, mapped and prohibited characters.
func TestDifferentialRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4013))
	pools := [][]rune{
		[]rune("aZ09 !~=,"),
		[]rune("\u00AD\u200B\u200C\uFEFF\uFE0F\u034F"),             // B.1
		[]rune("\u00A0\u1680\u2000\u2009\u202F\u3000"),             // C.1.2
		[]rune("\u05D0\u05EA\u0627\u0628\u0661\u200F\u05BE"),       // RandAL and friends
		[]rune("\u00AA\u2168\uFF21\uFF41\u00E9\u0301\u0308\u1E9B"), // NFKC work
		[]rune("\u1806\u1806"),
		[]rune("\u0007\u007F\u0085\uE000\uFFFE\u2028\u206A\u2FF0\u0340"),
		[]rune("\u0221\U0001F100\U0001F600\u0378"), // unassigned in 3.2
	}
	classes := map[string]int{}
	bad, accepted := 0, 0
	for i := 0; i < 5000; i++ {
		var b strings.Builder
		for n := 1 + rng.IntN(8); n > 0; n-- {
			switch p := rng.IntN(len(pools) + 2); {
			case p < len(pools):
				b.WriteRune(pools[p][rng.IntN(len(pools[p]))])
			default:
				r := rune(rng.IntN(0x30000))
				if r >= 0xD800 && r <= 0xDFFF {
					r = 'x'
				}
				b.WriteRune(r)
			}
		}
		if _, err := Stored(b.String()); err == nil {
			accepted++
		}
		tally(t, diff(b.String()), classes, &bad)
	}
	if bad > 0 {
		t.Errorf("%d unexplained differences", bad)
	}
	if accepted < 1000 {
		t.Errorf("only %d of 5000 strings were accepted: the mix tests little but refusals", accepted)
	}
	t.Logf("%d accepted; known differences: %v", accepted, classes)
}

// Bytes that are not UTF-8 are refused; xdg-go read them as U+FFFD, which
// changes the password the server sees.
func TestInvalidUTF8(t *testing.T) {
	for _, s := range []string{"caf\xe9", "\xed\xa0\x80", "ok\xff", "\xc3"} {
		if _, err := Stored(s); !errors.Is(err, ErrInvalidUTF8) {
			t.Errorf("Stored(%+q): %v", s, err)
		}
	}
}

// ASCII takes the fast path; the slow path must agree with it.
func TestASCIIFastPath(t *testing.T) {
	for c := 0; c < 0x80; c++ {
		s := "x" + string(rune(c))
		fast, ferr := Stored(s)
		slow, serr := Stored(s + "\u00e9")
		if (ferr == nil) != (serr == nil) || (ferr == nil && fast+"\u00e9" != slow) {
			t.Errorf("%+q: fast %+q %v, slow %+q %v", s, fast, ferr, slow, serr)
		}
		if want := c >= 0x20 && c != 0x7F; (ferr == nil) != want {
			t.Errorf("%+q: %v", s, ferr)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Stored("correct horse battery staple") }); n != 0 {
		t.Errorf("ASCII allocates %v times", n)
	}
}
