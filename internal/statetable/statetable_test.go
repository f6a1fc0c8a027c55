package statetable_test

import (
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// plugins run in-process, the way their mains do; args are the ones every
// case gets (the target and -t are added per case).
var plugins = []struct {
	name string
	run  func(t *testing.T, args ...string) plugintest.Outcome
	args []string
}{
	{"conn", func(t *testing.T, args ...string) plugintest.Outcome {
		return plugintest.Run(t, conncheck.Name, conncheck.Service, &conncheck.Options{}, conncheck.Check, args...)
	}, nil},
	{"tls", func(t *testing.T, args ...string) plugintest.Outcome {
		return plugintest.Run(t, tlscheck.Name, tlscheck.Service, &tlscheck.Options{}, tlscheck.Check, args...)
	}, nil},
	{"auth", func(t *testing.T, args ...string) plugintest.Outcome {
		return plugintest.Run(t, authcheck.Name, authcheck.Service, &authcheck.Options{}, authcheck.Check, args...)
	}, []string{"-U", "mon@fault.test", "-P", "s3cret"}},
}

func quitOK(c *smtptest.FaultConn) {
	if _, err := c.Expect("QUIT"); err == nil {
		_ = c.Send("221 2.0.0 bye")
	}
}

// refuseAll answers every command with reply: EHLO, and HELO after it.
func refuseAll(reply string) func(*smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		_ = c.Greet()
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			if strings.EqualFold(line, "QUIT") {
				_ = c.Send("221 2.0.0 bye")
				return
			}
			_ = c.Send(reply)
		}
	}
}

// The state table (plugin.FailureState) seen from outside: one script, the
// same facts, the same exit code in every plugin it applies to.
func TestSameFactsSameState(t *testing.T) {
	cases := []struct {
		name    string
		script  func(*smtptest.FaultConn)
		timeout string              // -t, 2 unless given
		phase   string              // the phase the status line names
		code    int                 // the state every plugin must give
		extra   map[string][]string // more arguments, per plugin
		only    bool                // only the plugins named in extra take part
	}{
		{
			name:   "421 greeting",
			script: func(c *smtptest.FaultConn) { _ = c.Send("421 4.3.2 fault.test service not available") },
			phase:  "banner", code: 2,
		},
		{
			name: "4xx at EHLO", script: refuseAll("451 4.3.0 try again later"),
			phase: "ehlo", code: 2,
		},
		{
			name: "5xx at EHLO and HELO", script: refuseAll("554 5.7.1 go away"),
			phase: "ehlo", code: 2,
		},
		{
			name: "reset in the middle of the EHLO reply",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				if _, err := c.Expect("EHLO "); err == nil {
					_ = c.SendRaw([]byte("250-fault.test\r\n250-PIPEL"))
					_ = c.Reset()
				}
			},
			phase: "ehlo", code: 2,
		},
		{
			name: "stall after the greeting, -t 1", timeout: "1",
			script: func(c *smtptest.FaultConn) { _ = c.Greet(); c.Hang() },
			phase:  "ehlo", code: 2,
		},
		{
			name: "stall after the greeting, -t 1:UNKNOWN", timeout: "1:UNKNOWN",
			script: func(c *smtptest.FaultConn) { _ = c.Greet(); c.Hang() },
			phase:  "ehlo", code: 3,
		},
		{
			name: "454 to STARTTLS",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("STARTTLS", "AUTH PLAIN")
				if _, err := c.Expect("STARTTLS"); err == nil {
					_ = c.Send("454 4.7.0 TLS not available due to local problem")
				}
				quitOK(c)
			},
			extra: map[string][]string{"conn": {"-S"}},
			phase: "starttls", code: 2,
		},
		{
			// A transaction phase: one request refused for now. check_smtp_tls
			// does not log in.
			name: "454 to AUTH",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("AUTH PLAIN")
				if _, err := c.Expect("AUTH"); err == nil {
					_ = c.Send("454 4.7.0 Temporary authentication failure")
				}
				quitOK(c)
			},
			extra: map[string][]string{
				"conn": {"-A", "PLAIN", "-U", "mon@fault.test", "-P", "s3cret", "--allow-plaintext"},
				"auth": {"--no-tls", "--allow-plaintext", "-m", "PLAIN"},
			},
			only:  true,
			phase: "auth", code: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.MustStartFault(t, tc.script)
			timeout := tc.timeout
			if timeout == "" {
				timeout = "2"
			}
			for _, p := range plugins {
				extra, ok := tc.extra[p.name]
				if tc.only && !ok {
					continue
				}
				t.Run(p.name, func(t *testing.T) {
					t.Parallel() // the stalls take -t each
					args := append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", timeout}, p.args...)
					o := p.run(t, append(args, extra...)...)
					if o.Code != tc.code || !strings.Contains(o.Status(), " - "+tc.phase+":") {
						t.Errorf("%s: exit %d, want %d with the phase %q named:\n%s", p.name, o.Code, tc.code, tc.phase, o.Out)
					}
				})
			}
		})
	}
}
