package threshold

import (
	"errors"
	"math"
	"strings"
	"testing"
)

var (
	inf    = math.Inf(1)
	negInf = math.Inf(-1)
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in         string
		start, end float64
		inside     bool
		str        string
	}{
		{"10", 0, 10, false, "10"},
		{"10:", 10, inf, false, "10:"},
		{"~:10", negInf, 10, false, "~:10"},
		{"10:20", 10, 20, false, "10:20"},
		{"@10:20", 10, 20, true, "@10:20"},
		{"@~:10", negInf, 10, true, "@~:10"},
		{"@10", 0, 10, true, "@10"},
		{"~:", negInf, inf, false, "~:"},
		{":10", 0, 10, false, ":10"},
		{"-5:5", -5, 5, false, "-5:5"},
		{"-10:-5", -10, -5, false, "-10:-5"},
		{"0.5", 0, 0.5, false, "0.5"},
		{"1e3", 0, 1000, false, "1e3"},
		{"+5", 0, 5, false, "+5"},
		{"0", 0, 0, false, "0"},
		{"5:5", 5, 5, false, "5:5"},
		{"  @10:20\t\n", 10, 20, true, "@10:20"},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): unexpected error %v", tt.in, err)
			continue
		}
		if r.Start != tt.start || r.End != tt.end || r.Inside != tt.inside {
			t.Errorf("Parse(%q) = {%v %v inside=%v}, want {%v %v inside=%v}",
				tt.in, r.Start, r.End, r.Inside, tt.start, tt.end, tt.inside)
		}
		if got := r.String(); got != tt.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.str)
		}
		if r.IsZero() {
			t.Errorf("Parse(%q).IsZero() = true", tt.in)
		}
		r2, err := Parse(r.String())
		if err != nil || r2 != r {
			t.Errorf("round trip of %q: got %+v, %v; want %+v", tt.in, r2, err, r)
		}
	}
}

func TestAlert(t *testing.T) {
	// The guideline examples, probed at and around each boundary.
	type probe struct {
		v     float64
		alert bool
	}
	tests := []struct {
		in     string
		probes []probe
	}{
		{"10", []probe{{-1, true}, {-0.001, true}, {0, false}, {5, false}, {10, false}, {10.001, true}, {11, true}}},
		{"10:", []probe{{-5, true}, {0, true}, {9.999, true}, {10, false}, {11, false}, {1e300, false}}},
		{"~:10", []probe{{-1e300, false}, {-5, false}, {0, false}, {10, false}, {10.001, true}, {11, true}}},
		{"10:20", []probe{{-10, true}, {0, true}, {9.999, true}, {10, false}, {15, false}, {20, false}, {20.001, true}}},
		{"@10:20", []probe{{-10, false}, {0, false}, {9.999, false}, {10, true}, {15, true}, {20, true}, {20.001, false}}},
		{"@~:10", []probe{{-1e300, true}, {-5, true}, {0, true}, {10, true}, {10.001, false}, {11, false}}},
		{"@10", []probe{{-1, false}, {-0.001, false}, {0, true}, {5, true}, {10, true}, {10.001, false}}},
		{"-5:5", []probe{{-6, true}, {-5, false}, {0, false}, {5, false}, {5.5, true}}},
		{"~:", []probe{{-1e300, false}, {0, false}, {1e300, false}}},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		for _, p := range tt.probes {
			if got := r.Alert(p.v); got != p.alert {
				t.Errorf("Parse(%q).Alert(%v) = %v, want %v", tt.in, p.v, got, p.alert)
			}
		}
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ in, err string }{
		{"", `invalid threshold range "": empty`},
		{"   ", `invalid threshold range "   ": empty`},
		{"abc", `invalid threshold range "abc": "abc" is not a number`},
		{"5:1", `invalid threshold range "5:1": its start is above its end: write the smaller number first, 1:5`},
		{"@5.5:-1", `invalid threshold range "@5.5:-1": its start is above its end: write the smaller number first, @-1:5.5`},
		{"-5", `invalid threshold range "-5": its start is above its end: write the smaller number first, -5:0`},
		{"@", `invalid threshold range "@": no range after @`},
		{"10:20:30", `invalid threshold range "10:20:30": more than one ':'`},
		{"~10", `invalid threshold range "~10": "~" is only valid as the whole start, as in "~:10"`},
		{"~", `invalid threshold range "~": "~" is only valid as the whole start, as in "~:10"`},
		{"10:~", `invalid threshold range "10:~": "~" is only valid as the whole start, as in "~:10"`},
		{":", `invalid threshold range ":": missing start and end`},
		{"@:", `invalid threshold range "@:": missing start and end`},
		{"NaN", `invalid threshold range "NaN": "NaN" is not a finite number`},
		{"inf", `invalid threshold range "inf": "inf" is not a finite number`},
		{"-Infinity:0", `invalid threshold range "-Infinity:0": "-Infinity" is not a finite number`},
		{"1e400", `invalid threshold range "1e400": "1e400" is out of range`},
		{"10: 20", `invalid threshold range "10: 20": " 20" is not a number`},
		{"@@10", `invalid threshold range "@@10": "@10" is not a number`},
		{"10x:20", `invalid threshold range "10x:20": "10x" is not a number`},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want error", tt.in, r)
			continue
		}
		if err.Error() != tt.err {
			t.Errorf("Parse(%q) error:\n got %s\nwant %s", tt.in, err, tt.err)
		}
		if !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v does not wrap ErrSyntax", tt.in, err)
		}
		if reversed := strings.Contains(tt.err, "above its end"); errors.Is(err, ErrReversed) != reversed {
			t.Errorf("Parse(%q) error %v: wraps ErrReversed %v, want %v", tt.in, err, !reversed, reversed)
		}
		if !r.IsZero() {
			t.Errorf("Parse(%q) returned non-zero Range %+v on error", tt.in, r)
		}
	}
}

func TestZeroRange(t *testing.T) {
	var r Range
	if !r.IsZero() {
		t.Error("zero Range: IsZero() = false")
	}
	if r.String() != "" {
		t.Errorf("zero Range: String() = %q, want empty", r.String())
	}
	for _, v := range []float64{-1, 0, 1} {
		if r.Alert(v) {
			t.Errorf("zero Range alerts for %v", v)
		}
	}
}

func TestStringLiteral(t *testing.T) {
	// Ranges built as literals (no parsed text) still render valid syntax.
	tests := []struct {
		r    Range
		want string
	}{
		{Range{End: 10}, "10"},
		{Range{Start: 10, End: inf}, "10:"},
		{Range{End: inf}, "0:"},
		{Range{Start: negInf, End: 10}, "~:10"},
		{Range{Start: negInf, End: inf}, "~:"},
		{Range{Start: 10, End: 20, Inside: true}, "@10:20"},
		{Range{Start: -0.5, End: 2.5}, "-0.5:2.5"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
		p, err := Parse(tt.r.String())
		if err != nil || p.Start != tt.r.Start || p.End != tt.r.End || p.Inside != tt.r.Inside {
			t.Errorf("Parse(%q) = %+v, %v; want bounds of %+v", tt.want, p, err, tt.r)
		}
	}
}

func TestFlag(t *testing.T) {
	var r Range
	if err := r.UnmarshalFlag("@~:10"); err != nil {
		t.Fatalf("UnmarshalFlag: %v", err)
	}
	if r.Start != negInf || r.End != 10 || !r.Inside {
		t.Errorf("UnmarshalFlag(@~:10) = %+v", r)
	}
	if s, err := r.MarshalFlag(); s != "@~:10" || err != nil {
		t.Errorf("MarshalFlag() = %q, %v; want @~:10, nil", s, err)
	}
	// A bad value leaves the previous one in place.
	if err := r.UnmarshalFlag("5:1"); !errors.Is(err, ErrSyntax) {
		t.Errorf("UnmarshalFlag(5:1) error = %v, want ErrSyntax", err)
	}
	if r.String() != "@~:10" {
		t.Errorf("after failed UnmarshalFlag, String() = %q", r.String())
	}
}

func TestPairCheck(t *testing.T) {
	must := func(s string) Range {
		r, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		return r
	}
	both := Pair{Warn: must("10"), Crit: must("20")}
	warnOnly := Pair{Warn: must("10")}
	critOnly := Pair{Crit: must("20")}
	tests := []struct {
		name string
		p    Pair
		v    float64
		want Level
	}{
		{"both ok", both, 5, None},
		{"both warn boundary", both, 10, None},
		{"both warn", both, 15, Warning},
		{"both crit boundary", both, 20, Warning},
		{"both crit wins", both, 25, Critical},
		{"both negative", both, -1, Critical},
		{"warn only", warnOnly, 25, Warning},
		{"warn only ok", warnOnly, 0, None},
		{"crit only", critOnly, 25, Critical},
		{"crit only below", critOnly, 15, None},
		{"unset", Pair{}, 1e9, None},
		// Crit alerts while Warn does not: still Critical.
		{"crit without warn", Pair{Warn: must("~:"), Crit: must("@0")}, 0, Critical},
	}
	for _, tt := range tests {
		if got := tt.p.Check(tt.v); got != tt.want {
			t.Errorf("%s: Check(%v) = %v, want %v", tt.name, tt.v, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"10", "10:", "~:10", "10:20", "@10:20", "@~:10", "@10", "~:", "-5:5", "0.5", "1e3", "5:1", ":", "@", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		if math.IsNaN(r.Start) || math.IsNaN(r.End) {
			t.Fatalf("Parse(%q) gave NaN bound: %+v", s, r)
		}
		if !(r.Start <= r.End) {
			t.Fatalf("Parse(%q): start %v > end %v", s, r.Start, r.End)
		}
		if r.IsZero() {
			t.Fatalf("Parse(%q) succeeded with zero Range", s)
		}
		r2, err := Parse(r.String())
		if err != nil || r2 != r {
			t.Fatalf("round trip of %q via %q: got %+v, %v; want %+v", s, r.String(), r2, err, r)
		}
		// Endpoints are inclusive: they alert exactly when the range is "@".
		for _, v := range []float64{r.Start, r.End} {
			if !math.IsInf(v, 0) && r.Alert(v) != r.Inside {
				t.Fatalf("Parse(%q).Alert(%v) = %v at endpoint", s, v, r.Alert(v))
			}
		}
	})
}
