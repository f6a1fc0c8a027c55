package conncheck

import (
	"crypto/tls"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// quitOK answers the QUIT a well-behaved client sends at the end.
func quitOK(c *smtptest.FaultConn) {
	if _, err := c.Expect("QUIT"); err == nil {
		_ = c.Send("221 2.0.0 bye")
	}
}

// authArgs log in as testUser over plaintext; TLS cases drop the last flag.
var authArgs = []string{"-U", testUser, "-P", testPass, "--allow-plaintext"}

// authScript greets, offers AUTH (inside TLS when cfg is given: STARTTLS, or
// implicit TLS with implicit), hands the exchange to auth, then answers QUIT.
func authScript(cfg *tls.Config, implicit bool, auth func(c *smtptest.FaultConn)) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		if implicit && c.StartTLS(cfg) != nil {
			return
		}
		_ = c.Greet()
		if cfg != nil && !implicit {
			_ = c.EHLO("STARTTLS")
			if _, err := c.Expect("STARTTLS"); err != nil || c.Send("220 2.0.0 go ahead") != nil || c.StartTLS(cfg) != nil {
				return
			}
		}
		_ = c.EHLO("AUTH PLAIN LOGIN")
		auth(c)
		quitOK(c)
	}
}

// loginEcho runs AUTH LOGIN's two prompts, then answers the password with
// reply(the base64 password as sent).
func loginEcho(reply func(b64 string) string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		if _, err := c.Expect("AUTH LOGIN"); err != nil || c.Send("334 VXNlcm5hbWU6") != nil {
			return
		}
		if _, err := c.ReadLine(); err != nil || c.Send("334 UGFzc3dvcmQ6") != nil {
			return
		}
		pass, err := c.ReadLine()
		if err != nil {
			return
		}
		c.AuthReply(reply(pass))
	}
}

// plainEcho answers AUTH PLAIN with reply(the initial response as sent).
func plainEcho(reply func(ir string) string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		if line, err := c.Expect("AUTH PLAIN "); err == nil {
			_ = c.Send(reply(strings.TrimPrefix(line, "AUTH PLAIN ")))
		}
	}
}

// noAuthExpected answers QUIT, or the credentials with 235 so that a
// client which sent them would report OK and fail the case.
func noAuthExpected(c *smtptest.FaultConn) {
	if line, err := c.ReadLine(); err == nil && strings.HasPrefix(line, "AUTH") {
		_ = c.Send("235 2.7.0 thanks for the password")
	}
}

func decoded(b64 string) string {
	b, _ := base64.StdEncoding.DecodeString(b64)
	return string(b)
}

// steps answers the commands after EHLO with replies, in order, then QUIT.
func steps(replies ...string) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		_ = c.Greet()
		_ = c.EHLO("PIPELINING")
		for _, reply := range replies {
			if _, err := c.ReadLine(); err == nil {
				_ = c.Send(reply)
			}
		}
		quitOK(c)
	}
}

// TestFaultMatrix runs check_smtp_conn against servers that misbehave in one
// way each: the exit code, the status line (naming the phase) and the time
// the run took are all asserted.
func TestFaultMatrix(t *testing.T) {
	refused := freePort(t)
	fifo, link, zero, dir, big := hostileCAFiles(t)
	ca := smtptest.MustNewCA(t, "fault matrix CA") // trusted by nobody: certificates do not verify
	cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	untrusted := &tls.Config{Certificates: []tls.Certificate{cert}}
	tlsAuth := authArgs[:len(authArgs)-1]
	const notSMTP = " - this is not a well-behaved SMTP server on this port"
	const proxyAnswered = `SMTP CRITICAL - proxy: the server answered the PROXY header with "500 unrecognized command" ({addr})` +
		" - it does not expect the PROXY protocol from this client: drop -r (--proxy-version), or have the server expect it (Postfix: smtpd_upstream_proxy_protocol, Exim: hosts_proxy)"
	cases := []struct {
		name   string
		script func(c *smtptest.FaultConn)
		args   []string
		code   int
		status string // {addr} is the server's address
	}{
		{
			name: "connection refused", args: []string{"-p", refused},
			code: 2, status: "SMTP CRITICAL - connect: connection refused (127.0.0.1:" + refused + ") - is the MTA running and listening on this address and port?",
		},
		{
			name: "accepts but never greets", script: func(c *smtptest.FaultConn) { c.Hang() },
			code: 2, status: "SMTP CRITICAL - banner: no answer within the 1 s timeout ({addr}) - the server is overloaded or tarpitting, or this port wants implicit TLS (-s)",
		},
		{
			name: "never greets, timeout state UNKNOWN", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-t", "1:UNKNOWN"},
			code: 3, status: "SMTP UNKNOWN - banner: no answer within the 1 s timeout ({addr}) - the server is overloaded or tarpitting, or this port wants implicit TLS (-s)",
		},
		{
			name: "greets one byte per second", script: func(c *smtptest.FaultConn) { _ = c.Dribble("220 slow.test ESMTP\r\n", time.Second) },
			code: 2, status: "SMTP CRITICAL - banner: no answer within the 1 s timeout ({addr}) - the server is overloaded or tarpitting, or this port wants implicit TLS (-s)",
		},
		{
			name: "closes mid-banner", script: func(c *smtptest.FaultConn) { _ = c.SendRaw([]byte("220-fault.test hello\r\n220-more")); _ = c.Close() },
			code: 2, status: "SMTP CRITICAL - banner: the server closed the connection ({addr}) - the server refused this client before greeting; check its access rules and connection limits",
		},
		{
			name: "421 greeting", script: func(c *smtptest.FaultConn) { _ = c.Send("421 4.3.2 fault.test service not available") },
			code: 2, status: `SMTP CRITICAL - banner: "421 4.3.2 fault.test service not available" ({addr}) - the server is closing the connection (overload, shutdown or rate limit): retry later, look at its log`,
		},
		{
			name: "554 greeting", script: func(c *smtptest.FaultConn) { _ = c.Send("554 5.7.1 no SMTP service here") },
			code: 2, status: `SMTP CRITICAL - banner: "554 5.7.1 no SMTP service here" ({addr}) - the server refuses service to this client: check its access rules and blocklists`,
		},
		{
			name: "multi-line reply with inconsistent codes", script: func(c *smtptest.FaultConn) { _ = c.Send("220-fault.test", "250 fault.test") },
			code: 2, status: `SMTP CRITICAL - banner: malformed reply: inconsistent codes 220 and 250 in one multi-line reply: "250 fault.test" ({addr}) - this is not a well-behaved SMTP server on this port`,
		},
		{
			name: "1 MB line", script: func(c *smtptest.FaultConn) {
				_ = c.SendRaw([]byte("220 " + strings.Repeat("x", 1<<20) + "\r\n"))
				c.Hang()
			},
			code: 2, status: "SMTP CRITICAL - banner: reply line longer than 4096 bytes ({addr}) - this is not a well-behaved SMTP server on this port",
		},
		{
			name: "garbage bytes", script: func(c *smtptest.FaultConn) { _ = c.SendRaw([]byte("\x00\xff\xfe garbage\r\n")); c.Hang() },
			code: 2, status: `SMTP CRITICAL - banner: malformed reply: expected a three-digit reply code: "\x00\xff\xfe garbage" ({addr}) - this is not a well-behaved SMTP server on this port`,
		},
		{
			name: "EHLO 5xx falls back to HELO",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				if _, err := c.Expect("EHLO "); err == nil {
					_ = c.Send("502 5.5.1 EHLO not implemented")
				}
				if _, err := c.Expect("HELO "); err == nil {
					_ = c.Send("250 fault.test")
				}
				quitOK(c)
			},
			code: 0, status: "SMTP OK - {addr} answered in T s",
		},
		{
			name: "STARTTLS not offered", script: func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); quitOK(c) }, args: []string{"-S"},
			code: 1, status: "SMTP WARNING - starttls: {addr} does not offer STARTTLS",
		},
		{
			name: "STARTTLS refused 454",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("STARTTLS")
				if _, err := c.Expect("STARTTLS"); err == nil {
					_ = c.Send("454 4.7.0 TLS not available due to local problem")
				}
				quitOK(c)
			},
			args: []string{"-S"},
			code: 2, status: `SMTP CRITICAL - starttls: "454 4.7.0 TLS not available due to local problem" ({addr}) - the server cannot start TLS now (often an unreadable certificate or key): look at its TLS log`,
		},
		{
			name: "TLS handshake stalls after STARTTLS",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("STARTTLS")
				if _, err := c.Expect("STARTTLS"); err == nil {
					_ = c.Send("220 2.0.0 go ahead")
				}
				c.Hang()
			},
			args: []string{"-S"},
			code: 2, status: "SMTP CRITICAL - starttls: no answer within the 1 s timeout ({addr}) - the TLS handshake after STARTTLS stalled: look at the server's TLS setup and log",
		},
		{
			name: "STARTTLS never answered",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("STARTTLS")
				c.Hang()
			},
			args: []string{"-S"},
			code: 2, status: "SMTP CRITICAL - starttls: no answer within the 1 s timeout ({addr}) - the server did not answer STARTTLS: it is stuck or overloaded, look at its log",
		},
		{
			name: "implicit TLS up, no banner", script: func(c *smtptest.FaultConn) {
				if c.StartTLS(untrusted) == nil {
					c.Hang()
				}
			}, args: []string{"-s"},
			code: 2, status: "SMTP CRITICAL - banner: no answer within the 1 s timeout ({addr}) - the server is overloaded or tarpitting",
		},
		{
			name: "implicit TLS handshake stalls", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-s"},
			code: 2, status: "SMTP CRITICAL - tls: no answer within the 1 s timeout ({addr}) - the TLS handshake stalled; is this really an implicit TLS port?",
		},
		{
			name: "implicit TLS to a plain server", script: func(c *smtptest.FaultConn) { _ = c.Greet(); c.Hang() }, args: []string{"-s"},
			code: 2, status: "SMTP CRITICAL - tls: TLS handshake failed: tls: first record does not look like a TLS handshake ({addr}) - the port speaks plain SMTP: use -S (STARTTLS) instead of -s",
		},
		{
			name: "STARTTLS accepted but plaintext follows",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("STARTTLS")
				if _, err := c.Expect("STARTTLS"); err == nil {
					_ = c.Send("220 2.0.0 go ahead", "250 not tls")
				}
				c.Hang()
			},
			args: []string{"-S"},
			code: 2, status: "SMTP CRITICAL - starttls: 13 bytes of plaintext followed the 220 reply to STARTTLS, before the TLS handshake ({addr}) - this is not a well-behaved SMTP server on this port",
		},
		{
			name: "reset after EHLO", script: func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); _ = c.Reset() }, args: []string{"-f", "a@b.test"},
			code: 2, status: "SMTP CRITICAL - mail: connection reset by the server ({addr}) - look at the server's log; a firewall or a crashed process may drop it",
		},
		{
			name: "reset after EHLO with STARTTLS", script: func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("STARTTLS"); _ = c.Reset() }, args: []string{"-S"},
			code: 2, status: "SMTP CRITICAL - starttls: connection reset by the server ({addr}) - look at the server's log; a firewall or a crashed process may drop it",
		},
		{
			name: "QUIT never answered", script: func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); c.Hang() },
			code: 1, status: "SMTP WARNING - quit: no answer within the 1 s timeout ({addr}) - the server is slow or stuck; raise -t if this is expected (add -q to ignore QUIT failures)",
		},
		{
			name: "QUIT never answered, -q", script: func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); c.Hang() }, args: []string{"-q"},
			code: 0, status: "SMTP OK - {addr} answered in T s",
		},
		{
			name: "MAIL rejected 550",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				if _, err := c.Expect("MAIL FROM:<mon@fault.test>"); err == nil {
					_ = c.Send("550 5.7.1 sender refused")
				}
				quitOK(c) // no RSET: there is no transaction to reset
			},
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 2, status: `SMTP CRITICAL - mail <mon@fault.test>: "550 5.7.1 sender refused" - the sender address is not allowed for this client or login`,
		},
		{
			name: "RCPT deferred 451",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				for _, reply := range []string{"250 2.1.0 ok", "451 4.3.0 try again later", "250 2.0.0 ok"} {
					if _, err := c.ReadLine(); err == nil {
						_ = c.Send(reply)
					}
				}
				quitOK(c)
			},
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 1, status: `SMTP WARNING - rcpt <user@fault.test>: "451 4.3.0 try again later" - temporary local error on the server: look at its log`,
		},
		// A bare LF never ends a line: the phase that read it is blamed.
		{
			name: "bare LF ends the banner", script: func(c *smtptest.FaultConn) { _ = c.SendRaw([]byte("220 fault.test\n")); _ = c.EHLO(); quitOK(c) },
			code: 2, status: `SMTP CRITICAL - banner: malformed reply: line ends in a bare LF, not CRLF: "220 fault.test" ({addr})` + notSMTP,
		},
		{
			name: "bare LF inside the EHLO reply",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				if _, err := c.Expect("EHLO "); err == nil {
					_ = c.SendRaw([]byte("250-fault.test\r\n250 PIPELINING\n250 SIZE 1000\r\n"))
				}
				quitOK(c)
			},
			code: 2, status: `SMTP CRITICAL - ehlo: malformed reply: line ends in a bare LF, not CRLF: "250 PIPELINING" ({addr})` + notSMTP,
		},
		// A reply code is checked exactly, never by its class.
		{
			name: "banner 250", script: func(c *smtptest.FaultConn) { _ = c.Send("250 fault.test"); c.Hang() },
			code: 2, status: `SMTP CRITICAL - banner: invalid response "250 fault.test" as the greeting: expected 220 ({addr})` + notSMTP,
		},
		{
			name: "EHLO answered with 220",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				if _, err := c.Expect("EHLO "); err == nil {
					_ = c.Send("220 fault.test")
				}
				c.Hang()
			},
			code: 2, status: `SMTP CRITICAL - ehlo: invalid response "220 fault.test" to EHLO: expected 250 ({addr})` + notSMTP,
		},
		{
			name: "STARTTLS answered with 250",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("STARTTLS")
				if _, err := c.Expect("STARTTLS"); err == nil {
					_ = c.Send("250 2.0.0 Ok")
				}
				quitOK(c)
			},
			args: []string{"-S"},
			code: 2, status: `SMTP CRITICAL - starttls: invalid response "250 2.0.0 Ok" to STARTTLS: expected 220 ({addr})` + notSMTP,
		},
		// Exim on a port without hosts_proxy reads the PROXY header as a
		// command and answers it: every later reply is one command late,
		// however the replies are cut into segments, with -q too.
		{
			name: "-r: PROXY answered with the greeting", script: smtptest.EximNoProxy(smtptest.SegGreetLate), args: []string{"-r"},
			code: 2, status: proxyAnswered,
		},
		{
			name: "-r: PROXY answered, each reply one behind", script: smtptest.EximNoProxy(smtptest.SegBehind), args: []string{"-r"},
			code: 2, status: proxyAnswered,
		},
		{
			name: "-r: PROXY answered, replies one behind, -q", script: smtptest.EximNoProxy(smtptest.SegBehind), args: []string{"-r", "-q"},
			code: 2, status: proxyAnswered,
		},
		{
			name: "-r: PROXY answered, EHLO and HELO replies at once", script: smtptest.EximNoProxy(smtptest.SegPaired), args: []string{"-r"},
			code: 2, status: proxyAnswered,
		},
		{
			name: "-r: PROXY answered, its answer and EHLO's at once", script: smtptest.EximNoProxy(smtptest.SegPairedEHLO), args: []string{"-r"},
			code: 2, status: proxyAnswered,
		},
		{
			name: "-r -S: PROXY answered, replies as they come", script: smtptest.EximNoProxy(smtptest.SegAtOnce), args: []string{"-r", "-S"},
			code: 2, status: proxyAnswered,
		},
		{
			name: "--proxy-version 2: its bytes answered as lines", script: smtptest.EximNoProxy(smtptest.SegGreetLate), args: []string{"--proxy-version", "2"},
			code: 2, status: proxyAnswered,
		},
		{
			// A server that closes on a line it cannot parse answers the
			// header with 421 right after its greeting.
			name: "-r: PROXY answered with 421 and a close",
			script: func(c *smtptest.FaultConn) {
				if _, err := c.Expect("PROXY TCP4 "); err == nil {
					_ = c.Send(smtptest.EximBanner, "421 4.7.0 mail.example.test Error: too many errors")
				}
			},
			args: []string{"-r"},
			code: 2, status: `SMTP CRITICAL - proxy: the server answered the PROXY header with "421 4.7.0 mail.example.test Error: too many errors" ({addr})` +
				" - it does not expect the PROXY protocol from this client: drop -r (--proxy-version), or have the server expect it (Postfix: smtpd_upstream_proxy_protocol, Exim: hosts_proxy)",
		},
		{
			// The v2 header's first bytes are two empty lines: EHLO and
			// HELO both read a 500 answering them, and only QUIT's reply
			// (a third 500) shows the replies out of step.
			name: "--proxy-version 2: its lines answered late, one reply at a time",
			script: func(c *smtptest.FaultConn) {
				if c.Pause(50*time.Millisecond) != nil || c.Send(smtptest.EximBanner) != nil {
					return
				}
				for {
					line, err := c.ReadLine()
					if err != nil || c.Pause(50*time.Millisecond) != nil || c.Send(smtptest.EximAnswer(line)...) != nil || strings.EqualFold(line, "QUIT") {
						return
					}
				}
			},
			args: []string{"--proxy-version", "2"},
			code: 2, status: proxyAnswered,
		},
		{
			name: "-r --proxy-version 1 with MAIL and RCPT: PROXY answered", script: smtptest.EximNoProxy(smtptest.SegBehind),
			args: []string{"--proxy-version", "1", "-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 2, status: proxyAnswered,
		},
		{
			// A server that knows the PROXY protocol and refuses EHLO is in step.
			name: "-r: EHLO refused, HELO accepted, in step",
			script: func(c *smtptest.FaultConn) {
				if _, err := c.Expect("PROXY TCP4 "); err != nil || c.Send(smtptest.EximBanner) != nil {
					return
				}
				if _, err := c.Expect("EHLO "); err == nil && c.Send("502 5.5.2 EHLO not implemented") == nil {
					_ = c.EHLO()
					quitOK(c)
				}
			},
			args: []string{"-r"},
			code: 0, status: "SMTP OK - {addr} answered in T s",
		},
		{
			name: "QUIT answered with 250, then 221: replies one command late",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				if _, err := c.Expect("QUIT"); err == nil {
					_ = c.Send("250 2.0.0 Ok", "221 2.0.0 Bye")
				}
			},
			code: 2, status: `SMTP CRITICAL - quit: QUIT was answered "250 2.0.0 Ok" and then "221 2.0.0 Bye": the server's replies ran one command late ({addr})` + notSMTP,
		},
		{
			name: "QUIT answered with 221 and more",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				if _, err := c.Expect("QUIT"); err == nil {
					_ = c.Send("221 2.0.0 Bye", "250 2.0.0 Ok")
				}
			},
			code: 1, status: `SMTP WARNING - quit: the server sent "250 2.0.0 Ok" after its reply, before the next command ({addr})` + notSMTP + " (add -q to ignore QUIT failures)",
		},
		{
			name: "QUIT answered with 250, not 221",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				if _, err := c.Expect("QUIT"); err == nil {
					_ = c.Send("250 2.0.0 Ok")
				}
			},
			code: 1, status: `SMTP WARNING - quit: "250 2.0.0 Ok" instead of 221 ({addr}) - add -q to ignore QUIT replies`,
		},
		{
			name: "QUIT answered with 250, -q",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				if _, err := c.Expect("QUIT"); err == nil {
					_ = c.Send("250 2.0.0 Ok")
				}
			},
			args: []string{"-q"},
			code: 0, status: "SMTP OK - {addr} answered in T s",
		},
		{
			name: "MAIL answered with 354", script: steps("354 go ahead", "250 2.0.0 ok"),
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 2, status: `SMTP CRITICAL - mail <mon@fault.test>: invalid response "354 go ahead" to MAIL FROM: expected 250` + notSMTP,
		},
		{
			name: "RCPT answered with 252", script: steps("250 2.1.0 ok", "252 2.1.5 Cannot VRFY user", "250 2.0.0 ok"),
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 2, status: `SMTP CRITICAL - rcpt <user@fault.test>: invalid response "252 2.1.5 Cannot VRFY user" to RCPT TO: expected 250 or 251` + notSMTP,
		},
		{
			name: "RCPT answered with 251", script: steps("250 2.1.0 ok", "251 2.1.5 will forward", "250 2.0.0 ok"),
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 0, status: "SMTP OK - {addr} answered in T s (1 RCPT accepted)",
		},
		// RSET only closes an accepted transaction; refused, it is a WARNING.
		{
			name: "RSET refused", script: steps("250 2.1.0 ok", "250 2.1.5 ok", "500 5.5.1 unknown command"),
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 1, status: `SMTP WARNING - rset: "500 5.5.1 unknown command"`,
		},
		{
			name: "RSET answered with 220", script: steps("250 2.1.0 ok", "250 2.1.5 ok", "220 fault.test"),
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 2, status: `SMTP CRITICAL - rset: invalid response "220 fault.test" to RSET: expected 250` + notSMTP,
		},
		{
			// Postfix on 587 without TLS (here offering no STARTTLS, so
			// the 530 asks for a login). An RSET would get no 221 from
			// quitOK: a WARNING about QUIT.
			name: "MAIL refused 530: no RSET", script: steps("530 5.7.0 Must issue a STARTTLS command first"),
			args: []string{"-f", "x@example.org", "--rcpt", "root@example.org"},
			code: 2, status: `SMTP CRITICAL - mail <x@example.org>: "530 5.7.0 Must issue a STARTTLS command first" - the server wants a login first: add -A/-U/-P, or use check_smtp_auth`,
		},
		{
			name: "MAIL deferred 451: no RSET", script: steps("451 4.3.0 try again later"),
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 1, status: `SMTP WARNING - mail <mon@fault.test>: "451 4.3.0 try again later" - temporary local error on the server: look at its log`,
		},
		{
			name: "RCPT refused, then RSET times out: the RCPT is judged too",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				for _, reply := range []string{"250 2.1.0 ok", "550 5.1.1 no such user"} {
					if _, err := c.ReadLine(); err == nil {
						_ = c.Send(reply)
					}
				}
				c.Hang()
			},
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 2, status: `SMTP CRITICAL - rset: no answer within the 1 s timeout ({addr}) - the server is slow or stuck; raise -t if this is expected; rcpt <user@fault.test>: "550 5.1.1 no such user" - the recipient does not exist on this server`,
		},
		// A -C answered with 354 left the server reading a message: nothing
		// more is sent (RSET and QUIT would be its text).
		{
			name: "-C DATA opens a message body", script: steps("250 2.1.0 ok", "250 2.1.5 ok", "354 End data with <CR><LF>.<CR><LF>", "250 2.0.0 queued as 1234"),
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test", "-C", "DATA"},
			code: 1, status: `SMTP WARNING - command "DATA": "354 End data with <CR><LF>.<CR><LF>" opened a message body; check_smtp_conn does not send mail, so it hung up: drop this -C`,
		},
		// The same when the server goes on talking after its 354, at once
		// (in the same write): one verdict, however fast the bytes come.
		{
			name: "-C DATA: 354 and more at once",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				_ = c.EHLO("PIPELINING")
				if _, err := c.Expect("DATA"); err == nil {
					_ = c.SendRaw([]byte("354 go ahead\r\n250 2.0.0 queued as FAKE\r\n221 bye\r\n"))
				}
				_, _ = c.ReadLine()
			},
			args: []string{"-C", "DATA"},
			code: 1, status: `SMTP WARNING - command "DATA": "354 go ahead" opened a message body; check_smtp_conn does not send mail, so it hung up: drop this -C`,
		},
		// Nothing may follow a reply unasked: it would be taken for the
		// next command's reply (here VRFY's, with -q: a false OK).
		{
			name: "a reply after the EHLO reply",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				if _, err := c.Expect("EHLO "); err == nil {
					_ = c.Send("250-fault.test", "250 PIPELINING", "250 early")
				}
				if _, err := c.Expect("VRFY"); err == nil {
					_ = c.Send("502 5.5.1 VRFY disabled")
				}
				quitOK(c)
			},
			args: []string{"-C", "VRFY x", "-q"},
			code: 2, status: `SMTP CRITICAL - ehlo: the server sent "250 early" after its reply, before the next command ({addr})` + notSMTP,
		},
		{
			name: "a 421 after the EHLO reply",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				if _, err := c.Expect("EHLO "); err == nil {
					_ = c.Send("250-fault.test", "250 PIPELINING", "421 4.3.2 shutting down")
				}
				if _, err := c.Expect("MAIL"); err == nil {
					_ = c.Send("250 2.1.0 ok")
				}
				quitOK(c)
			},
			args: []string{"-f", "mon@fault.test"},
			code: 2, status: `SMTP CRITICAL - ehlo: "421 4.3.2 shutting down" ({addr}) - the server is closing the connection (overload, shutdown or rate limit): retry later, look at its log`,
		},
		// A bare CR never joins two lines.
		{
			name: "bare CR inside the EHLO reply",
			script: func(c *smtptest.FaultConn) {
				_ = c.Greet()
				if _, err := c.Expect("EHLO "); err == nil {
					_ = c.SendRaw([]byte("250-hostile\r250 8BITMIME\r\n"))
				}
				c.Hang()
			},
			code: 2, status: `SMTP CRITICAL - ehlo: malformed reply: a CR not followed by LF inside the line: "250-hostile\r250 8BITMIME" ({addr})` + notSMTP,
		},
		{
			name: "banner code 120", script: func(c *smtptest.FaultConn) { _ = c.Send("120 fault.test wait"); c.Hang() },
			code: 2, status: `SMTP CRITICAL - banner: malformed reply: reply code 120 is outside 200-599: "120 fault.test wait" ({addr})` + notSMTP,
		},
		// Only 235 ends AUTH (Postfix's smtp-sink answers AUTH LOGIN with 250).
		{
			name: "250 to AUTH LOGIN", script: authScript(nil, false, func(c *smtptest.FaultConn) {
				if _, err := c.Expect("AUTH LOGIN"); err == nil {
					_ = c.Send("250 2.0.0 Ok")
				}
			}),
			args: append([]string{"-A", "LOGIN"}, authArgs...),
			code: 2, status: `SMTP CRITICAL - auth: invalid response "250 2.0.0 Ok" to AUTH LOGIN: expected 235 or 334 ({addr})` + notSMTP,
		},
		{
			name: "250 to AUTH PLAIN", script: authScript(nil, false, plainEcho(func(string) string { return "250 2.0.0 Ok" })),
			args: append([]string{"-A", "PLAIN"}, authArgs...),
			code: 2, status: `SMTP CRITICAL - auth: invalid response "250 2.0.0 Ok" to AUTH PLAIN: expected 235 or 334 ({addr})` + notSMTP,
		},
		{
			name: "250 to AUTH PLAIN over STARTTLS, --insecure", script: authScript(untrusted, false, plainEcho(func(string) string { return "250 2.0.0 Ok" })),
			args: append([]string{"-S", "--insecure", "-A", "PLAIN"}, tlsAuth...),
			code: 2, status: `SMTP CRITICAL - auth: invalid response "250 2.0.0 Ok" to AUTH PLAIN: expected 235 or 334 ({addr})` + notSMTP,
		},
		{
			name: "250 to AUTH LOGIN over implicit TLS, --insecure", script: authScript(untrusted, true, func(c *smtptest.FaultConn) {
				if _, err := c.Expect("AUTH LOGIN"); err == nil {
					_ = c.Send("250 2.0.0 Ok")
				}
			}),
			args: append([]string{"-s", "--insecure", "-A", "LOGIN"}, tlsAuth...),
			code: 2, status: `SMTP CRITICAL - auth: invalid response "250 2.0.0 Ok" to AUTH LOGIN: expected 235 or 334 ({addr})` + notSMTP,
		},
		// Secrets a server echoes back never reach the output.
		{
			name: "password echoed as a 334 challenge", script: authScript(nil, false, loginEcho(func(pass string) string { return "334 " + pass })),
			args: append([]string{"-A", "LOGIN"}, authArgs...),
			code: 2, status: `SMTP CRITICAL - auth: unexpected AUTH LOGIN challenge "<redacted>" ({addr})`,
		},
		{
			name: "PLAIN initial response echoed in the 535", script: authScript(nil, false, plainEcho(func(ir string) string { return "535 5.7.8 rejected " + ir })),
			args: append([]string{"-A", "PLAIN"}, authArgs...),
			code: 2, status: `SMTP CRITICAL - auth: "535 5.7.8 rejected <redacted>" ({addr}) - wrong user name or password`,
		},
		{
			name: "PLAIN initial response echoed decoded in the 535", script: authScript(nil, false, plainEcho(func(ir string) string { return "535 5.7.8 rejected " + decoded(ir) })),
			args: append([]string{"-A", "PLAIN"}, authArgs...),
			code: 2, status: `SMTP CRITICAL - auth: "535 5.7.8 rejected <redacted>" ({addr}) - wrong user name or password`,
		},
		// No credentials to a server whose certificate does not verify.
		{
			name: "-S -A, certificate does not verify", script: authScript(untrusted, false, noAuthExpected),
			args: append([]string{"-S", "-A", "PLAIN"}, tlsAuth...),
			code: 2, status: "SMTP CRITICAL - auth: credentials not sent: the certificate of {addr} does not verify (x509: certificate signed by unknown authority) - add --ca-file with the CA that signed it (\"fault matrix CA\"), or add --insecure to send them anyway",
		},
		{
			name: "-s -A, certificate does not verify", script: authScript(untrusted, true, noAuthExpected),
			args: append([]string{"-s", "-A", "LOGIN"}, tlsAuth...),
			code: 2, status: "SMTP CRITICAL - auth: credentials not sent: the certificate of {addr} does not verify (x509: certificate signed by unknown authority) - add --ca-file with the CA that signed it (\"fault matrix CA\"), or add --insecure to send them anyway",
		},
		// -S asked for TLS: no STARTTLS (stripped by a man in the middle?)
		// means no credentials, CRITICAL as in check_smtp_auth.
		{
			name: "-S -A, STARTTLS not offered", script: authScript(nil, false, noAuthExpected),
			args: append([]string{"-S", "-A", "PLAIN"}, tlsAuth...),
			code: 2, status: "SMTP CRITICAL - auth: credentials not sent: {addr} does not offer STARTTLS - enable TLS on the server, use -s if the port speaks implicit TLS, or add --allow-plaintext to send them unencrypted",
		},
		{
			name: "--insecure says so when the certificate does not verify", script: authScript(untrusted, false, plainEcho(func(string) string { return "235 2.7.0 ok" })),
			args: append([]string{"-S", "--insecure", "-A", "PLAIN"}, tlsAuth...),
			code: 0, status: "SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3, certificate NOT verified: --insecure, AUTH PLAIN)",
		},
		{
			name: "--insecure with --verify", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-S", "--insecure", "--verify"},
			code: 3, status: "SMTP UNKNOWN - --insecure and --verify exclude each other: --insecure skips the verification that --verify judges (see check_smtp_conn --help)",
		},
		// Bad values are usage errors before dialling: this server would
		// make any session that reached it time out in the banner.
		{
			name: "CR LF in --rcpt", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"--rcpt", "a@test\r\nDATA"},
			code: 3, status: `SMTP UNKNOWN - --rcpt "a@test\r\nDATA": contains a control character ("\r"), which cannot be sent in an SMTP command (see check_smtp_conn --help)`,
		},
		{
			name: "CR LF in -F", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-F", "monitor\r\n"},
			code: 3, status: `SMTP UNKNOWN - -F "monitor\r\n": a host name cannot contain control characters ("\r") (see check_smtp_conn --help)`,
		},
		{
			name: "-H host:port", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-H", "localhost:25"},
			code: 3, status: `SMTP UNKNOWN - -H "localhost:25": a host name carries no port: give it with -p (see check_smtp_conn --help)`,
		},
		// A file that never opens, never ends or is huge is refused at once
		// (this server would make a session time out in the banner).
		{
			name: "--ca-file a FIFO", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-S", "--ca-file", fifo.Path},
			code: 3, status: "SMTP UNKNOWN - --ca-file: " + fifo.Why + " (see check_smtp_conn --help)",
		},
		{
			name: "--ca-file a symlink to a FIFO", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-S", "--ca-file", link.Path},
			code: 3, status: "SMTP UNKNOWN - --ca-file: " + link.Why + " (see check_smtp_conn --help)",
		},
		{
			name: "--ca-file /dev/zero", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-S", "--ca-file", zero.Path},
			code: 3, status: "SMTP UNKNOWN - --ca-file: " + zero.Why + " (see check_smtp_conn --help)",
		},
		{
			name: "--ca-file a directory", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-S", "--ca-file", dir.Path},
			code: 3, status: "SMTP UNKNOWN - --ca-file: " + dir.Why + " (see check_smtp_conn --help)",
		},
		{
			name: "--ca-file 200 MiB", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-S", "--ca-file", big.Path},
			code: 3, status: "SMTP UNKNOWN - --ca-file: " + big.Why + " (see check_smtp_conn --help)",
		},
		{
			name: "--extra-opts a FIFO", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"--extra-opts=@" + fifo.Path},
			code: 3, status: "SMTP UNKNOWN - --extra-opts: " + fifo.Why + " (see check_smtp_conn --help)",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr := "127.0.0.1:" + refused
			args := []string{"-H", "127.0.0.1", "-t", "1"}
			if tc.script != nil {
				srv := smtptest.MustStartFault(t, tc.script)
				addr = srv.Addr
				args = append(args, "-p", strconv.Itoa(srv.Port))
			}
			o := check(t, append(args, tc.args...)...)
			o.Expect(t, tc.code, strings.ReplaceAll(tc.status, "{addr}", addr))
			o.Within(t, time.Second)
		})
	}
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return strconv.Itoa(port)
}

// TestIPv6WhereOnlyIPv4Listens asks for IPv6 at a port only IPv4 serves.
func TestIPv6WhereOnlyIPv4Listens(t *testing.T) {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO(); quitOK(c) })
	port := strconv.Itoa(srv.Port)
	o := check(t, "-H", "::1", "-6", "-p", port, "-t", "1")
	o.Expect(t, 2, "SMTP CRITICAL - connect: connection refused ([::1]:"+port+") - is the MTA running and listening on this address and port?")
	o.Within(t, time.Second)

	o = check(t, "-H", "127.0.0.1", "-6", "-p", port, "-t", "1")
	// An address of the other family is our user's contradiction, not the server's.
	o.Expect(t, 3, "SMTP UNKNOWN - -H 127.0.0.1 is not an IPv6 address: drop -6 or give the other address (see check_smtp_conn --help)")
	o = check(t, "-H", "::1", "-4", "-p", port, "-t", "1")
	o.Expect(t, 3, "SMTP UNKNOWN - -H ::1 is not an IPv4 address: drop -4 or give the other address (see check_smtp_conn --help)")
}

// TestEchoedSecretsRedacted: whatever a server echoes back of the
// credentials, the status line, the JSON summary and findings and the -v
// transcript show <redacted>, never the secret or its base64.
func TestEchoedSecretsRedacted(t *testing.T) {
	ir := "\x00" + testUser + "\x00" + testPass
	var forbidden []string
	for _, s := range []string{testPass, ir} {
		forbidden = append(forbidden, s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s)))
	}
	cases := []struct {
		name, mech string
		auth       func(c *smtptest.FaultConn)
		status     string // {addr} is the server's address
		transcript string // the -v line that carried the echo
	}{
		{"password as a 334 challenge", "LOGIN", loginEcho(func(pass string) string { return "334 " + pass }),
			`auth: unexpected AUTH LOGIN challenge "<redacted>" ({addr})`, "S: 334 <redacted>"},
		{"password in the 535 text", "LOGIN", loginEcho(func(pass string) string { return "535 5.7.8 " + decoded(pass) + " is wrong" }),
			`auth: "535 5.7.8 <redacted> is wrong" ({addr}) - wrong user name or password`, "S: 535 5.7.8 <redacted> is wrong"},
		{"PLAIN response in the 535 text", "PLAIN", plainEcho(func(ir string) string { return "535 5.7.8 bad " + ir }),
			`auth: "535 5.7.8 bad <redacted>" ({addr}) - wrong user name or password`, "S: 535 5.7.8 bad <redacted>"},
		{"PLAIN response decoded in the 535 text", "PLAIN", plainEcho(func(ir string) string { return "535 5.7.8 bad " + decoded(ir) }),
			`auth: "535 5.7.8 bad <redacted>" ({addr}) - wrong user name or password`, "S: 535 5.7.8 bad <redacted>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.MustStartFault(t, authScript(nil, false, tc.auth))
			args := append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2", "-A", tc.mech}, authArgs...)
			status := strings.ReplaceAll(tc.status, "{addr}", srv.Addr)

			text := check(t, append(args, "-v")...)
			text.Expect(t, 2, "SMTP CRITICAL - "+status)
			text.Contains(t, "\n"+tc.transcript+"\n")

			js := check(t, append(args, "--output", "json", "-v")...)
			plugintest.ExpectRedacted(t, text, js, status, tc.transcript, forbidden)
		})
	}
}

// TestHELOFallbackQuotesEHLOReply: the long output names the EHLO refusal,
// not the HELO reply that followed it.
func TestHELOFallbackQuotesEHLOReply(t *testing.T) {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Greet()
		if _, err := c.Expect("EHLO "); err == nil {
			_ = c.Send("502 5.5.1 EHLO not implemented")
		}
		if _, err := c.Expect("HELO "); err == nil {
			_ = c.Send("250 fault.test hello")
		}
		quitOK(c)
	})
	o := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2")
	o.Expect(t, 0, "SMTP OK - "+srv.Addr+" answered in T s")
	o.Contains(t, "\nehlo: refused with \"502 5.5.1 EHLO not implemented\"; HELO accepted, so no extensions are known",
		"\nhelo: \"250 fault.test hello\"; extensions: none")
}

// TestOwnWordsNotScrubbed: redaction touches what the server sent, as
// whole words, never our own messages: -P wrong must not turn "wrong user
// name or password" into "<redacted> user name ...", a one-letter password
// must not punch holes into every word, and a password sent only at AUTH
// does not redact the banner read before it (which would show it).
func TestOwnWordsNotScrubbed(t *testing.T) {
	refuse := loginEcho(func(string) string { return "535 5.7.8 Error: authentication failed" })
	cases := []struct {
		pass   string
		auth   func(c *smtptest.FaultConn)
		status string
	}{
		{"wrong", refuse, `auth: "535 5.7.8 Error: authentication failed" ({addr}) - wrong user name or password`},
		{"a", refuse, `auth: "535 5.7.8 Error: authentication failed" ({addr}) - wrong user name or password`},
		{"Postfix", refuse, `auth: "535 5.7.8 Error: authentication failed" ({addr}) - wrong user name or password`},
		// An echo is still redacted, as a whole word only.
		{"wrong", loginEcho(func(string) string { return "535 5.7.8 wrong is wrong, wrongly" }),
			`auth: "535 5.7.8 <redacted> is <redacted>, wrongly" ({addr}) - wrong user name or password`},
	}
	for _, tc := range cases {
		t.Run(tc.pass, func(t *testing.T) {
			srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
				if c.Send("220 mx.test ESMTP Postfix (Debian/GNU)") != nil || c.EHLO("AUTH LOGIN") != nil {
					return
				}
				tc.auth(c)
				quitOK(c)
			})
			o := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2", "-A", "LOGIN", "-U", testUser, "-P", tc.pass, "--allow-plaintext")
			o.Expect(t, 2, "SMTP CRITICAL - "+strings.ReplaceAll(tc.status, "{addr}", srv.Addr))
			o.Contains(t, "\nbanner: \"220 mx.test ESMTP Postfix (Debian/GNU)\"\n")
		})
	}
}

// TestEarlySuccessIsNoLogin: a 235 before LOGIN has sent the password (at
// once, or right after the user name) logged nobody in: CRITICAL.
func TestEarlySuccessIsNoLogin(t *testing.T) {
	const ok = "235 2.7.0 Authentication successful"
	cases := []struct {
		name   string
		auth   func(c *smtptest.FaultConn)
		status string
	}{
		{"at once", func(c *smtptest.FaultConn) {
			if _, err := c.Expect("AUTH LOGIN"); err == nil {
				_ = c.Send(ok)
			}
		}, `auth: invalid response "235 2.7.0 Authentication successful" to AUTH LOGIN: the exchange is not finished (neither the user name nor the password was sent yet) ({addr}) - this is not a well-behaved SMTP server on this port`},
		{"after the user name", func(c *smtptest.FaultConn) {
			if _, err := c.Expect("AUTH LOGIN"); err == nil && c.Send("334 VXNlcm5hbWU6") == nil {
				_, _ = c.ReadLine()
				_ = c.Send(ok)
			}
		}, `auth: invalid response "235 2.7.0 Authentication successful" to AUTH LOGIN: the exchange is not finished (the password was not sent yet) ({addr}) - this is not a well-behaved SMTP server on this port`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.MustStartFault(t, authScript(nil, false, tc.auth))
			o := check(t, append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2", "-A", "LOGIN"}, authArgs...)...)
			o.Expect(t, 2, "SMTP CRITICAL - "+strings.ReplaceAll(tc.status, "{addr}", srv.Addr))
			o.Within(t, 2500*time.Millisecond)
		})
	}
}
