package main

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// TestCommandLine: a request on stdin (here one it does not serve), --help
// and --version for a person, anything else refused with exit 3.
func TestCommandLine(t *testing.T) {
	for _, c := range []struct {
		args          []string
		code          int
		out, errStart string
	}{
		{nil, 0, `{"error":{"scheme":"","msg":"unknown store \"vault\": smtpcheck-secret-cloud reads aws-sm: and azure-kv: references only"}}` + "\n", ""},
		{[]string{"--help"}, 0, help, ""},
		{[]string{"-V"}, 0, "smtpcheck-secret-cloud " + plugin.VersionString() + "\n", ""},
		{[]string{"--bogus"}, 3, "", `smtpcheck-secret-cloud: unexpected argument "--bogus": it takes none but --help or --version; smtpcheck-secret sends its request on stdin`},
	} {
		var out, errOut strings.Builder
		code := run(c.args, strings.NewReader(`{"scheme":"vault","path":"secret/x"}`), &out, &errOut)
		if code != c.code || (c.out != "" && out.String() != c.out) || !strings.HasPrefix(errOut.String(), c.errStart) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", c.args, code, out.String(), errOut.String())
		}
	}
}
