package plugin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

func runConn(t *testing.T, args ...string) plugintest.Outcome {
	t.Helper()
	return plugintest.Run(t, conncheck.Name, conncheck.Service, &conncheck.Options{}, conncheck.Check, args...)
}

// TestUsageErrorJSON: a usage or configuration error answers in the format
// the command line asks for, even when Parse stopped before the --output
// (at an unknown flag, a bad value, an unreadable --extra-opts file): an
// engine that parses JSON gets JSON, with the text form's message.
func TestUsageErrorJSON(t *testing.T) {
	for _, c := range []struct {
		text, json []string // the run without and with --output json
		msg        string
	}{
		{[]string{"--bogus"}, []string{"--bogus", "--output=json"},
			"unknown flag `bogus' (see check_smtp_conn --help)"},
		{[]string{"-H", "x", "--extra-opts=@/dev/zero"}, []string{"-H", "x", "--output", "json", "--extra-opts=@/dev/zero"},
			"--extra-opts: /dev/zero: a device, not a regular file; give the path of a regular file (see check_smtp_conn --help)"},
		{[]string{"-w", "abc"}, []string{"--output=json", "-w", "abc"},
			"-w: want a Nagios range such as 5, 5:, ~:5, @1:2 (see check_smtp_conn --help)"},
		{[]string{"-w", "abc"}, []string{"-w", "abc", "--output", "json"},
			"-w: want a Nagios range such as 5, 5:, ~:5, @1:2 (see check_smtp_conn --help)"},
		// The last --output wins, as in Parse.
		{[]string{"--bogus"}, []string{"--output=text", "--bogus", "--output=json"},
			"unknown flag `bogus' (see check_smtp_conn --help)"},
		// Validate's error, after a whole parse.
		{[]string{"-p", "0"}, []string{"-p", "0", "--output=json"},
			"-p 0: want a port between 1 and 65535 (see check_smtp_conn --help)"},
	} {
		runConn(t, c.text...).Expect(t, 3, "SMTP UNKNOWN - "+c.msg)
		o := runConn(t, c.json...)
		want := `{"state":"UNKNOWN","exit_code":3,"summary":` + quote(c.msg) + `,"findings":[{"state":"UNKNOWN","text":` + quote(c.msg) + `}],"perfdata":[]}` + "\n"
		var got struct{ State, Summary string }
		if err := json.Unmarshal([]byte(o.Out), &got); err != nil || o.Code != 3 || o.Out != want ||
			got.State != "UNKNOWN" || got.Summary != c.msg {
			t.Errorf("%q: exit %d, %v:\n%s\nwant exit 3:\n%s", c.json, o.Code, err, o.Out, want)
		}
	}
}

func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// TestUsageErrorBadOutput: an --output value Parse refuses is not used:
// the error saying so is text, as is one after a refused last --output.
func TestUsageErrorBadOutput(t *testing.T) {
	const bad = "SMTP UNKNOWN - Invalid value `xml' for option `--output'. Allowed values are: text or json (see check_smtp_conn --help)"
	for _, args := range [][]string{
		{"--output=xml", "--bogus"},
		{"--output", "json", "--output=xml"},
	} {
		o := runConn(t, args...)
		o.Expect(t, 3, bad)
		if strings.HasPrefix(o.Out, "{") {
			t.Errorf("%q: JSON:\n%s", args, o.Out)
		}
	}
	runConn(t, "--bogus", "--output=xml").Expect(t, 3, "SMTP UNKNOWN - unknown flag `bogus' (see check_smtp_conn --help)")
}

// TestHelpIgnoresOutput: -h and -V print their text whatever --output says.
func TestHelpIgnoresOutput(t *testing.T) {
	_, help, _ := plugin.Parse(context.Background(), conncheck.Name, []string{"--help"}, &conncheck.Options{})
	for _, args := range [][]string{{"--help", "--output=json"}, {"--output", "json", "-h"}} {
		if o := runConn(t, args...); o.Code != 3 || o.Out != help || !strings.HasPrefix(help, "Usage:") {
			t.Errorf("%q: exit %d:\n%s", args, o.Code, o.Out)
		}
	}
	if o := runConn(t, "-V", "--output=json"); o.Code != 3 || o.Out != conncheck.Name+" "+plugin.VersionString()+"\n" {
		t.Errorf("-V: exit %d:\n%s", o.Code, o.Out)
	}
}

// TestWatchdogWhileParsingJSON: the watchdog's verdict while the options
// are still being read is in the command line's --output format too.
func TestWatchdogWhileParsingJSON(t *testing.T) {
	ch := make(chan struct{})
	unblock = ch
	t.Cleanup(func() { close(ch) })
	o := run(t, hangs(t, "", false), "-t", "0.5", "--output", "json", "--block", "x")
	const want = `{"state":"CRITICAL","exit_code":2,"summary":"stuck: no verdict within the 0.5 s timeout (-t); run the check by hand with -v to see where it hangs","findings":[{"state":"CRITICAL","text":"stuck: no verdict within the 0.5 s timeout (-t); run the check by hand with -v to see where it hangs"}],"perfdata":[]}` + "\n"
	if o.Code != 2 || o.Out != want {
		t.Errorf("exit %d:\n%s\nwant exit 2:\n%s", o.Code, o.Out, want)
	}
	o.Within(t, 500*time.Millisecond)
}
