package conncheck

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// quitOK answers the QUIT a well-behaved client sends at the end.
func quitOK(c *smtptest.FaultConn) {
	if _, err := c.Expect("QUIT"); err == nil {
		_ = c.Send("221 2.0.0 bye")
	}
}

// TestFaultMatrix runs check_smtp_conn against servers that misbehave in one
// way each: the exit code, the status line (naming the phase) and the time
// the run took are all asserted.
func TestFaultMatrix(t *testing.T) {
	refused := freePort(t)
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
			code: 2, status: `SMTP CRITICAL - banner: "554 5.7.1 no SMTP service here" ({addr}) - the server refuses this client or relay: check its access rules`,
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
			code: 2, status: `SMTP CRITICAL - starttls: "454 4.7.0 TLS not available due to local problem" ({addr}) - temporary server-side problem (TLS or authentication backend down): look at the server's log`,
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
			code: 2, status: "SMTP CRITICAL - starttls: no answer within the 1 s timeout ({addr}) - the TLS handshake stalled; is this really a TLS port?",
		},
		{
			name: "implicit TLS handshake stalls", script: func(c *smtptest.FaultConn) { c.Hang() }, args: []string{"-s"},
			code: 2, status: "SMTP CRITICAL - tls: no answer within the 1 s timeout ({addr}) - the TLS handshake stalled; is this really a TLS port?",
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
				if _, err := c.Expect("RSET"); err == nil {
					_ = c.Send("250 2.0.0 ok")
				}
				quitOK(c)
			},
			args: []string{"-f", "mon@fault.test", "--rcpt", "user@fault.test"},
			code: 2, status: `SMTP CRITICAL - mail <mon@fault.test>: "550 5.7.1 sender refused" - the server refuses this client or relay: check its access rules`,
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
	o.Expect(t, 2, "SMTP CRITICAL - dns: 127.0.0.1 is not an IPv6 address (drop -4/-6 or give the other address) (127.0.0.1:"+port+")")
}
