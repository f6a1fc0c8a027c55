package main

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// TestCommandLine: --help and --version answer a person with exit 0; any
// other argument is refused before stdin is read.
func TestCommandLine(t *testing.T) {
	plugin.Version = "v1.2.3"
	t.Cleanup(func() { plugin.Version = "" })
	for _, c := range []struct {
		args             []string
		code             int
		stdout, stderr   string
		stdoutStartsWith bool
	}{
		{[]string{"--help"}, 0, "smtpcheck-secret reads vault:, keyring:, aws-sm:, azure-kv: and gpg:\n", "", true},
		{[]string{"-h"}, 0, "smtpcheck-secret reads vault:, keyring:, aws-sm:, azure-kv: and gpg:\n", "", true},
		{[]string{"--version"}, 0, "smtpcheck-secret v1.2.3\n", "", false},
		{[]string{"-V"}, 0, "smtpcheck-secret v1.2.3\n", "", false},
		{[]string{"--help", "x"}, 3, "", "smtpcheck-secret: unexpected argument \"--help\": it takes none but --help or --version; plugins send their request on stdin\n", false},
		{[]string{"vault:secret/x"}, 3, "", "smtpcheck-secret: unexpected argument \"vault:secret/x\": it takes none but --help or --version; plugins send their request on stdin\n", false},
	} {
		var out, errOut strings.Builder
		code := run(c.args, strings.NewReader(`{"scheme":"nope"}`), &out, &errOut)
		stdout := out.String()
		if c.stdoutStartsWith && strings.HasPrefix(stdout, c.stdout) {
			stdout = c.stdout
		}
		if code != c.code || stdout != c.stdout || errOut.String() != c.stderr {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.args, code, out.String(), errOut.String(), c.code, c.stdout, c.stderr)
		}
	}
	var out strings.Builder
	run([]string{"--help"}, nil, &out, &out)
	for _, want := range []string{"check_smtp_auth", "Usage: smtpcheck-secret < REQUEST", "--version", "man smtpcheck-secret"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not say %q:\n%s", want, out.String())
		}
	}
	for line := range strings.Lines(out.String()) {
		if len(line) > 81 {
			t.Errorf("--help line over 80 columns: %q", line)
		}
	}
}
