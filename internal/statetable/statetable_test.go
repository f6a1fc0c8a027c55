package statetable_test

import (
	"crypto/tls"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/deliverycheck"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/securitycheck"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

func TestMain(m *testing.M) {
	os.Setenv("STATETABLE_PASSWORD", "s3cret") // for delivery's --password-ref (the subtests run in parallel: no t.Setenv)
	goleak.VerifyTestMain(m)
}

// deliveryLogin is check_smtp_delivery's SMTP login, for the cases about
// credentials; without it, it submits as to an MX.
var deliveryLogin = []string{"--user", "mon@fault.test", "--password-ref", "env:STATETABLE_PASSWORD"}

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
	// --send-only: the IMAP side would only add noise to SMTP facts.
	{"delivery", func(t *testing.T, args ...string) plugintest.Outcome {
		return plugintest.Run(t, deliverycheck.Name, deliverycheck.Service, &deliverycheck.Options{}, deliverycheck.Check, args...)
	}, []string{"--send-only", "--from", "mon@fault.test", "--to", "rcpt@fault.test"}},
	// One session in clear text (EHLO, QUIT): whether STARTTLS is offered;
	// the audit's other sessions judge failures through the same table.
	{"security", func(t *testing.T, args ...string) plugintest.Outcome {
		return plugintest.Run(t, securitycheck.Name, securitycheck.Service, &securitycheck.Options{}, securitycheck.Check, args...)
	}, []string{"--only", "starttls"}},
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

// differ is a state a plugin deliberately gives for facts others judge
// otherwise, and the text that says so.
type differ struct {
	code int
	text string
}

// serverCert is a self-signed certificate for fault.test: untrusted by
// the system roots, and not valid for 127.0.0.1 either.
var serverCert = func() tls.Certificate {
	c, err := smtptest.SelfSigned(smtptest.LeafOptions{DNSNames: []string{"fault.test"}})
	if err != nil {
		panic(err)
	}
	return c
}()

// untrusted offers STARTTLS with serverCert; whoever goes on after the
// handshake is answered in kind. No AUTH may ever arrive.
func untrusted(c *smtptest.FaultConn) {
	_ = c.Greet()
	_ = c.EHLO("STARTTLS", "AUTH PLAIN")
	if _, err := c.Expect("STARTTLS"); err != nil {
		return
	}
	_ = c.Send("220 2.0.0 go ahead")
	if c.StartTLS(&tls.Config{Certificates: []tls.Certificate{serverCert}}) != nil {
		return
	}
	_ = c.EHLO("AUTH PLAIN")
	for {
		line, err := c.ReadLine()
		switch {
		case err != nil:
			return
		case strings.HasPrefix(strings.ToUpper(line), "AUTH"):
			_ = c.Send("535 5.7.8 credentials sent to an unverified server")
			panic("credentials sent to an unverified server: " + line)
		case strings.EqualFold(line, "QUIT"):
			_ = c.Send("221 2.0.0 bye")
			return
		}
		_ = c.Send("250 2.0.0 ok")
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
		// differ are the plugins that deliberately give another state for
		// these facts (README "Exit codes"), with that state and the text
		// their status line must hold instead of the phase.
		differ map[string]differ
		// texts replaces the phase check for plugins whose status line
		// words these facts without a phase (e.g. "credentials not sent").
		texts map[string]string
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
			// check_smtp_security asks whether STARTTLS is offered, not whether it works.
			differ: map[string]differ{"security": {0, "SMTP SECURITY OK - 1 sub-check passed"}},
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
		{
			// check_smtp_conn sends MAIL only when asked, check_smtp_delivery
			// always; the others never do.
			name: "451 to MAIL",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				if _, err := c.Expect("MAIL"); err == nil {
					_ = c.Send("451 4.3.0 try again later")
				}
				quitOK(c)
			},
			extra: map[string][]string{"conn": {"-f", "mon@fault.test"}, "delivery": {"--no-tls"}},
			only:  true,
			phase: "mail <mon@fault.test>", code: 1,
			texts: map[string]string{"delivery": `SMTP DELIVERY WARNING - mail: "451 4.3.0 try again later"`},
		},
		{
			// Verification on: conn with --verify (and with -A, whose
			// credentials it then withholds), auth by default, tls always.
			name: "untrusted certificate", script: untrusted,
			extra: map[string][]string{"conn": {"-S", "--verify"}, "auth": {"-S"}, "delivery": deliveryLogin},
			phase: "tls", code: 2,
			texts: map[string]string{
				"auth":     "credentials not sent: the certificate of 127.0.0.1",
				"delivery": "SMTP DELIVERY CRITICAL - credentials not sent: the certificate of 127.0.0.1",
				"tls":      `certificate "fault.test" is self-signed`,
			},
			differ: map[string]differ{"security": {0, "SMTP SECURITY OK - 1 sub-check passed"}},
		},
		{
			name: "untrusted certificate, conn logging in", script: untrusted,
			extra: map[string][]string{"conn": {"-S", "-A", "PLAIN", "-U", "mon@fault.test", "-P", "s3cret"}},
			only:  true, code: 2,
			texts: map[string]string{"conn": "auth: credentials not sent: the certificate of 127.0.0.1"},
		},
		{
			// check_smtp_conn keeps check_smtp's verdict: the certificate is
			// reported in the long output, not judged, unless --verify.
			name: "untrusted certificate, conn without --verify", script: untrusted,
			extra:  map[string][]string{"conn": {"-S"}},
			only:   true,
			differ: map[string]differ{"conn": {0, "SMTP OK - 127.0.0.1:"}},
		},
		{
			name: "no STARTTLS where TLS is required",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("AUTH PLAIN")
				quitOK(c)
			},
			extra: map[string][]string{"conn": {"-S", "-A", "PLAIN", "-U", "mon@fault.test", "-P", "s3cret"}, "auth": {"-S"}, "delivery": deliveryLogin},
			phase: "starttls", code: 2,
			texts: map[string]string{
				"conn":     "auth: credentials not sent: 127.0.0.1",
				"auth":     "credentials not sent: 127.0.0.1",
				"delivery": "SMTP DELIVERY CRITICAL - credentials not sent: 127.0.0.1",
			},
			// For an MX (port 25) a missing STARTTLS is WARNING; --role submission makes it CRITICAL.
			differ: map[string]differ{"security": {1, "SMTP SECURITY WARNING - starttls: not offered"}},
		},
		{
			// check_smtp's -S without a login: WARNING, as check_smtp says it.
			name: "no STARTTLS, conn without a login",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("AUTH PLAIN")
				quitOK(c)
			},
			extra:  map[string][]string{"conn": {"-S"}},
			only:   true,
			differ: map[string]differ{"conn": {1, "SMTP WARNING - starttls: 127.0.0.1"}},
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
					code, want := tc.code, " - "+tc.phase+":"
					if text, ok := tc.texts[p.name]; ok {
						want = text
					}
					if d, ok := tc.differ[p.name]; ok {
						code, want = d.code, d.text
					}
					if o.Code != code || !strings.Contains(o.Status(), want) {
						t.Errorf("%s: exit %d, want %d with %q:\n%s", p.name, o.Code, code, want, o.Out)
					}
				})
			}
		})
	}
}
