package plugins

import (
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// helpSections are the section headers each plugin's --help must have, in
// this order, besides its own.
var helpSections = map[string][]string{
	"check_smtp_conn":     {"Connection:", "TLS:", "SMTP session:", "Transaction:", "AUTH:", "Thresholds:", "Output and run:", "Examples:"},
	"check_smtp_auth":     {"Connection:", "TLS:", "AUTH:", "OAuth 2 token:", "Thresholds:", "Secret stores:", "Output and run:", "Examples:"},
	"check_smtp_tls":      {"Connection:", "TLS:", "Certificate and protocol:", "DANE and MTA-STS:", "Thresholds:", "Output and run:", "Examples:"},
	"check_smtp_delivery": {"Connection:", "TLS:", "SMTP AUTH:", "OAuth 2 token:", "IMAP:", "IMAP login:", "Message:", "Delivery:", "Thresholds:", "Secret stores:", "Output and run:", "Examples:"},
	"check_smtp_security": {"Connection:", "TLS:", "Audit:", "Opt-in probes:", "Output and run:", "Examples:"},
	"check_smtp_load":     {"Connection:", "TLS:", "SMTP AUTH:", "OAuth 2 token:", "Load:", "Message:", "Thresholds:", "Secret stores:", "Output and run:", "Examples:"},
}

// optionLine is an option's line in a plugin's --help: "-p, --port=PORT".
var optionLine = regexp.MustCompile(`^  (?:-\S, )?--([a-z0-9-]+)(\[?=)?(.*)$`)

// choicesAgain is go-flags' list of choices after a value name that gave
// them already: "--proxy-version=1|2[1|2]".
var choicesAgain = regexp.MustCompile(`\[[^]]*\|[^]]*\]$`)

// brokenWord is a line ending inside a hyphenated word, as go-flags wrapped
// "SCRAM-SHA-2-" / "56".
var brokenWord = regexp.MustCompile(`[[:alnum:]]-$`)

// checkHelp runs bin --help piped (as an engine or `| less` would) and
// checks that it reads at 80 columns: no longer line, no word split at a
// hyphen; for a plugin also its sections and examples, a value name on
// every option that takes a value, and no default said twice.
func checkHelp(t *testing.T, bin, name string) {
	t.Helper()
	out, err := exec.Command(bin, "--help").Output()
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != 3) {
		t.Fatalf("--help: %v", err)
	}
	help := string(out)
	lines := strings.Split(strings.TrimSuffix(help, "\n"), "\n")
	for i, l := range lines {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("--help line %d is %d columns: %q", i+1, n, l)
		}
		if brokenWord.MatchString(l) {
			t.Errorf("--help line %d ends in a broken word: %q", i+1, l)
		}
	}
	want, isPlugin := helpSections[name]
	if !isPlugin {
		return
	}
	at := 0
	for _, s := range want {
		i := strings.Index(help[at:], "\n"+s+"\n")
		if i < 0 {
			t.Errorf("--help lacks the section %q (in this order: %v)", s, want)
			continue
		}
		at += i + 1
	}
	if !strings.Contains(help, "\nExamples:\n  "+name+" -H ") {
		t.Errorf("--help has no example of %s -H", name)
	}

	// An option and its description, up to the next option or section.
	type option struct{ long, value, text string }
	var opts []option
	for _, l := range lines {
		if strings.HasPrefix(l, "Examples:") {
			break
		}
		if m := optionLine.FindStringSubmatch(l); m != nil {
			opts = append(opts, option{long: m[1], value: m[2] + m[3]})
		} else if len(opts) > 0 && strings.HasPrefix(l, "        ") {
			opts[len(opts)-1].text += l
		}
	}
	if len(opts) < 20 {
		t.Fatalf("--help lists %d options:\n%s", len(opts), help)
	}
	for _, o := range opts {
		if n := strings.Count(o.text, "(default"); n > 1 {
			t.Errorf("--%s says its default %d times: %s", o.long, n, o.text)
		}
		switch {
		case strings.HasPrefix(o.value, "[="): // --extra-opts: the value is optional
		case o.value == "":
			// Shown as a switch: then a following -h must not be taken as
			// its value.
			out, _ := exec.Command(bin, "--"+o.long, "-h").Output()
			if !strings.HasPrefix(string(out), "Usage:") {
				t.Errorf("--%s takes a value, but --help shows no value name: %.200s", o.long, out)
			}
		case o.value == "=":
			t.Errorf("--%s: no value name", o.long)
		case choicesAgain.MatchString(o.value):
			t.Errorf("--%s: its values twice: %q", o.long, o.value)
		}
	}
}
