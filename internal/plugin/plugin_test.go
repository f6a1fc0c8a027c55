package plugin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

func TestWorst(t *testing.T) {
	cases := []struct{ a, b, want State }{
		{OK, OK, OK}, {OK, Warning, Warning}, {Unknown, Warning, Warning},
		{Critical, Unknown, Critical}, {OK, Unknown, Unknown}, {Warning, Critical, Critical},
	}
	for _, c := range cases {
		if got := Worst(c.a, c.b); got != c.want {
			t.Errorf("Worst(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := Worst(c.b, c.a); got != c.want {
			t.Errorf("Worst(%v, %v) = %v, want %v", c.b, c.a, got, c.want)
		}
	}
	if Critical.String() != "CRITICAL" || Unknown.String() != "UNKNOWN" {
		t.Errorf("labels: %s %s", Critical, Unknown)
	}
}

func TestResultSummary(t *testing.T) {
	var r Result
	if r.State() != Unknown || r.Summary() != "no result" {
		t.Errorf("empty result: %v %q", r.State(), r.Summary())
	}
	r.Add(OK, "banner fine")
	r.Add(Warning, "slow %d", 1)
	r.Add(Critical, "rcpt refused")
	r.Add(Warning, "slow 2")
	r.Add(Critical, "mail refused")
	if r.State() != Critical || r.Summary() != "rcpt refused; mail refused" {
		t.Errorf("got %v %q", r.State(), r.Summary())
	}
}

func TestSanitize(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"220 ok | 'x'=1", 100, "220 ok ¦ 'x'=1"},
		{"a\tb\r\nc", 100, "a b  c"},
		{"bell\x07 esc\x1b[0m", 100, "bell? esc?[0m"},
		{"bad \xff utf8", 100, "bad ? utf8"},
		{"ünïcödé", 100, "ünïcödé"},
		{"ünïcödé", 3, "ünï..."},
		{strings.Repeat("x", 12), 10, "xxxxxxxxxx..."},
		{strings.Repeat("x", 10), 10, "xxxxxxxxxx"},
	}
	for _, c := range cases {
		if got := Sanitize(c.in, c.max); got != c.want {
			t.Errorf("Sanitize(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}

func TestFormatValue(t *testing.T) {
	cases := map[float64]string{0: "0", 1: "1", 0.0123456789: "0.012346", 1e-9: "0", 3649: "3649", -2.5: "-2.5", 1e21: "1000000000000000000000"}
	for v, want := range cases {
		if got := FormatValue(v); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestTimeoutFlag(t *testing.T) {
	cases := []struct {
		in   string
		d    time.Duration
		st   State
		err  string
		back string
	}{
		{in: "10", d: 10 * time.Second, st: Critical, back: "10"},
		{in: "2.5", d: 2500 * time.Millisecond, st: Critical, back: "2.5"},
		{in: "7s", d: 7 * time.Second, st: Critical, back: "7"},
		{in: "10:UNKNOWN", d: 10 * time.Second, st: Unknown, back: "10:UNKNOWN"},
		{in: "5:warning", d: 5 * time.Second, st: Warning, back: "5:WARNING"},
		{in: "5:1", d: 5 * time.Second, st: Warning, back: "5:WARNING"},
		{in: "5:bogus", err: `unknown state "bogus" (want OK, WARNING, CRITICAL or UNKNOWN)`},
		{in: "0.1", d: 100 * time.Millisecond, st: Critical, back: "0.1"},
		{in: "3600:UNKNOWN", d: time.Hour, st: Unknown, back: "3600:UNKNOWN"},
		{in: "-1", err: `timeout "-1": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
		{in: "x", err: `timeout "x": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
		// NaN passed a check of "too small or too big" and gave a false OK.
		{in: "NaN:OK", err: `timeout "NaN:OK": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
		{in: "nan", err: `timeout "nan": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
		{in: "Inf", err: `timeout "Inf": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
		{in: "1e-300", err: `timeout "1e-300": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
		{in: "0.09", err: `timeout "0.09": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
		{in: "3600.5", err: `timeout "3600.5": want a number of seconds from 0.1 to 3600, optionally followed by :STATE`},
	}
	for _, c := range cases {
		var to Timeout
		err := to.UnmarshalFlag(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		back, _ := to.MarshalFlag()
		if err != nil || to.Duration != c.d || to.State != c.st || back != c.back {
			t.Errorf("%q: got %v %v %q %v", c.in, to.Duration, to.State, back, err)
		}
	}
}

func TestParseIniSection(t *testing.T) {
	ini := `; comment
[check_smtp_conn]
hostname = mx.example.org
p=2525
starttls
expect = "ESMTP Postfix"
# another
[other]
hostname = wrong
[check_smtp_conn]
command = NOOP
`
	all := func(string) bool { return true }
	got, found, err := parseIniSection(ini, "check_smtp_conn", "check_smtp_conn", all)
	want := "--hostname=mx.example.org|-p|2525|--starttls|--expect=ESMTP Postfix|--command=NOOP"
	if err != nil || !found || strings.Join(got, "|") != want {
		t.Errorf("got %q %v %v", strings.Join(got, "|"), found, err)
	}
	_, _, err = parseIniSection("[broken\n", "x", "check_x", all)
	if err == nil || err.Error() != "line 1: unterminated section header" {
		t.Errorf("err %v", err)
	}
}

// iniOpts are the options the ini tests may name.
type iniOpts struct {
	Common
	Port     int    `short:"p" long:"port"`
	Hostname string `long:"hostname"`
	Password string `long:"password"`
}

// An ini line that is not an option is refused naming the file and the
// line; one without "=" (a password on a line of its own) is not echoed.
// A line longer than 64 KiB is read like any other.
func TestExtraOptsLines(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plugins.ini")
	expand := func(ini string) ([]string, error) {
		t.Helper()
		if err := os.WriteFile(file, []byte(ini), 0o600); err != nil {
			t.Fatal(err)
		}
		return expandExtraOpts(context.Background(), NewParser("check_x", &iniOpts{}), []string{"--extra-opts=@" + file})
	}
	_, err := expand("[check_x]\nport = 25\nhunter2secret\n")
	if want := "--extra-opts: " + file + ": line 3: not an option of check_x (its text is not shown: it may be a secret); write options as name or name = value"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	_, err = expand("[check_x]\nhostnme = mx.example.org\n")
	if want := "--extra-opts: " + file + ": line 2: hostnme is not an option of check_x"; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	long := strings.Repeat("x", 100<<10)
	got, err := expand("[check_x]\ntimeout = 5\np = 25\npassword = " + long + "\n")
	if err != nil || len(got) != 4 || got[0] != "--timeout=5" || got[3] != "--password="+long {
		t.Errorf("a 100 KiB line: %d args, %v", len(got), err)
	}
}

func TestExpandExtraOptsCommandLineWins(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plugins.ini")
	if err := os.WriteFile(file, []byte("[check_x]\nport=25\nhostname=a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MP_CONFIG_FILE", file)
	got, err := expandExtraOpts(context.Background(), NewParser("check_x", &iniOpts{}), []string{"-p", "26", "--extra-opts", "--", "--extra-opts"})
	want := "--port=25 --hostname=a -p 26 -- --extra-opts"
	if err != nil || strings.Join(got, " ") != want {
		t.Errorf("got %q, %v; want %q", strings.Join(got, " "), err, want)
	}
}

// TestRenderText pins the text layout, whole outputs byte for byte: status
// line, long output below it with no blank or space-only line between, the
// perfdata ending the last line, no line ending in a space (go-nagios would
// write " \n" everywhere), exit code from the state.
func TestRenderText(t *testing.T) {
	warn, _ := threshold.Parse("1")
	result := func(details ...string) *Result {
		r := &Result{Service: "SMTP"}
		r.Add(Warning, "banner: slow | really")
		for _, d := range details {
			r.Detail("%s", d)
		}
		r.Transcript = []string{"S: 220 hi "}
		r.AddPerf(Seconds("banner", 1500*time.Millisecond, threshold.Pair{Warn: warn}), Seconds("time", 2*time.Second, threshold.Pair{}))
		return r
	}
	for _, c := range []struct {
		r       *Result
		verbose int
		want    string
	}{
		{result(), 0, "SMTP WARNING - banner: slow ¦ really | 'banner'=1.5s;1;;0; 'time'=2s;;;0;\n"},
		{result("line one"), 0, "SMTP WARNING - banner: slow ¦ really\nline one | 'banner'=1.5s;1;;0; 'time'=2s;;;0;\n"},
		{result("line one", "line two "), 1, "SMTP WARNING - banner: slow ¦ really\nline one\nline two\nS: 220 hi | 'banner'=1.5s;1;;0; 'time'=2s;;;0;\n"},
		{result(), 1, "SMTP WARNING - banner: slow ¦ really\nS: 220 hi | 'banner'=1.5s;1;;0; 'time'=2s;;;0;\n"},
	} {
		out, code := renderWith(c.r, &Common{Output: "text", Verbose: make([]bool, c.verbose)})
		if out != c.want || code != 1 {
			t.Errorf("-v x%d: exit %d, output\n%q\nwant\n%q", c.verbose, code, out, c.want)
		}
	}
}

func TestRenderJSON(t *testing.T) {
	r := &Result{Service: "SMTP"}
	r.Add(Critical, "connect: refused")
	r.AddPerf(Seconds("connect", time.Millisecond, threshold.Pair{}))
	out, code := renderWith(r, &Common{Output: "json"})
	want := `{"state":"CRITICAL","exit_code":2,"summary":"connect: refused","findings":[{"state":"CRITICAL","text":"connect: refused"}],"perfdata":[{"label":"connect","value":0.001,"unit":"s","min":0}]}` + "\n"
	if out != want || code != 2 {
		t.Errorf("exit %d\n got %s\nwant %s", code, out, want)
	}
}

// TestStatusLineCut: findings that do not fit the status line are counted
// there and listed first in the long output, never lost.
func TestStatusLineCut(t *testing.T) {
	r := &Result{Service: "SMTP"}
	for i := range 5 {
		r.Add(Critical, "finding %d %s", i, strings.Repeat("x", 120))
	}
	first, rest, _ := strings.Cut(render(t, r), "\n")
	x := strings.Repeat("x", 120)
	want := "SMTP CRITICAL - finding 0 " + x + "; finding 1 " + x + " (+3 more below)"
	if first != want {
		t.Errorf("status line\n got %q\nwant %q", first, want)
	}
	for i := 2; i < 5; i++ {
		if !strings.Contains(rest, fmt.Sprintf("[CRITICAL] finding %d %s", i, x)) {
			t.Errorf("finding %d missing from the long output:\n%s", i, rest)
		}
	}
	if r.Summary() != strings.Join([]string{"finding 0 " + x, "finding 1 " + x, "finding 2 " + x, "finding 3 " + x, "finding 4 " + x}, "; ") {
		t.Errorf("Summary (JSON) must stay whole: %q", r.Summary())
	}
}
