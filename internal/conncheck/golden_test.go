package conncheck

import (
	"strconv"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// normalise masks what changes from run to run: values, times and ports.
func normalise(out string, port int) string {
	return plugintest.MaskValues(strings.ReplaceAll(out, ":"+strconv.Itoa(port), ":PORT"))
}

// TestGolden compares whole outputs, long output and perfdata included,
// with testdata/*.golden (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	script := func(c *smtptest.FaultConn) {
		_ = c.Send("220-mx.golden.test ESMTP", "220 postscreen passed")
		if _, err := c.Expect("EHLO golden.test"); err == nil {
			_ = c.Send("250-mx.golden.test", "250-PIPELINING", "250-SIZE 10240000", "250-AUTH=LOGIN", "250 ENHANCEDSTATUSCODES")
		}
		replies := []string{"250 2.1.0 ok", "550 5.1.1 <nobody@golden.test>: user unknown", "250 2.1.5 ok", "252 2.0.0 cannot VRFY", "250 2.0.0 reset"}
		for _, r := range replies {
			if _, err := c.ReadLine(); err != nil {
				return
			}
			_ = c.Send(r)
		}
		quitOK(c)
	}
	for _, name := range []string{"rcpt-refused-verbose", "rcpt-refused-json"} {
		t.Run(name, func(t *testing.T) {
			srv := smtptest.MustStartFault(t, script)
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-F", "golden.test", "-t", "2",
				"-f", "mon@golden.test", "--rcpt", "nobody@golden.test", "--rcpt", "postmaster@golden.test",
				"-C", "VRFY postmaster", "-R", "^25[02]", "-v"}
			if strings.HasSuffix(name, "json") {
				args = append(args, "--output", "json")
			}
			got := normalise(check(t, args...).Out, srv.Port)
			plugintest.Golden(t, name, got)
		})
	}
}
