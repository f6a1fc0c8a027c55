package conncheck

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// countingServer is a well-behaved scripted server that counts the
// connections it accepted and keeps the last EHLO line it read.
func countingServer(t *testing.T, network, addr string) (*smtptest.FaultServer, *atomic.Int32, *atomic.Value) {
	t.Helper()
	var ehlo atomic.Value
	srv, n := smtptest.StartCounting(t, network, addr, func(c *smtptest.FaultConn) {
		_ = c.Greet()
		if l, err := c.Expect("EHLO "); err == nil {
			ehlo.Store(l)
			_ = c.Send("250 fault.test")
		}
		quitOK(c)
	})
	return srv, n, &ehlo
}

// TestBadValuesBeforeDialling: a value that cannot be used is an UNKNOWN
// naming the flag, before anything is looked up or dialled.
func TestBadValuesBeforeDialling(t *testing.T) {
	srv, dialled, _ := countingServer(t, "tcp", "127.0.0.1:0")
	port := strconv.Itoa(srv.Port)
	run := func(args ...string) plugintest.Outcome {
		return check(t, append([]string{"-H", "127.0.0.1", "-p", port, "-t", "2"}, args...)...)
	}
	plugintest.ExpectBadValues(t, "SMTP", "check_smtp_conn", dialled, run, []plugintest.BadValue{
		{[]string{"-p", "0"}, `-p 0: want a port between 1 and 65535`},
		{[]string{"-s", "-p", "0"}, `-p 0: want a port between 1 and 65535`},
		{[]string{"-H", "127.0.0.1:" + port}, `-H "127.0.0.1:` + port + `": a host name carries no port: give it with -p`},
		{[]string{"-H", "localhost:" + port}, `-H "localhost:` + port + `": a host name carries no port: give it with -p`},
		{[]string{"-H", strings.Repeat("x", 300)}, `-H "` + strings.Repeat("x", 64) + `"...: longer than 253 characters, the limit of a DNS name`},
		{[]string{"-H", "localhost\r\n"}, `-H "localhost\r\n": a host name cannot contain control characters ("\r")`},
		{[]string{"-H", "local..host"}, `-H "local..host": empty label: a host name has no leading dot or two dots in a row`},
		{[]string{"-F", "monitor\r\nRSET"}, `-F "monitor\r\nRSET": a host name cannot contain control characters ("\r")`},
		{[]string{"-f", "mon@test\r\nRCPT TO:<x@y>"}, `-f "mon@test\r\nRCPT TO:<x@y>": contains a control character ("\r"), which cannot be sent in an SMTP command`},
		{[]string{"--mail-from", "mon@test\n"}, `--mail-from "mon@test\n": contains a control character ("\n"), which cannot be sent in an SMTP command`},
		{[]string{"--rcpt", "a@test", "--rcpt", "b@test\x00"}, `--rcpt "b@test\x00": contains a control character ("\x00"), which cannot be sent in an SMTP command`},
		{[]string{"-C", "NOOP", "-C", "VRFY x\r\nDATA"}, `-C "VRFY x\r\nDATA": contains a control character ("\r"), which cannot be sent in an SMTP command`},
		{[]string{"-A", "PLAIN", "-U", "mon\r\n", "-P", "secret", "--allow-plaintext"}, `-U "mon\r\n": contains a control character ("\r"), which cannot be sent in an SMTP command`},
		{[]string{"-S", "--sni-name", "mx.test:25"}, `--sni-name "mx.test:25": a host name carries no port`},
		{[]string{"-S", "--verify-name", "mx test"}, `--verify-name "mx test": ' ' cannot be in a host name: use letters, digits, hyphens, underscores and dots`},
		{[]string{"-H", "", "--mx", "[::1]"}, `--mx "[::1]": want a domain name, not an IP address`},
		{[]string{"-H", "", "--mx", "example.test\n"}, `--mx "example.test\n": a host name cannot contain control characters ("\n")`},
		{[]string{"-D", "10,20"}, `-D "10,20": WARN 10 is below CRIT 20 days, so the WARNING could never fire: put the larger number first, -D 20,10`},
		{[]string{"-c", "1:0"}, `-c: invalid threshold range "1:0": its start is above its end: write the smaller number first, 0:1`},
		{[]string{"-w=@5:2"}, `-w: invalid threshold range "@5:2": its start is above its end: write the smaller number first, @2:5`},
	})
	check(t, "-H", "127.0.0.1", "-p", port, "-t", "2").Expect(t, 0, "SMTP OK - 127.0.0.1:"+port+" answered in T s")
	if n := dialled.Load(); n != 1 {
		t.Errorf("the good command line made %d connections, want 1", n)
	}
}

// TestBracketedIPv6 reaches a server on [::1] given as -H '[::1]'.
func TestBracketedIPv6(t *testing.T) {
	srv, dialled, _ := countingServer(t, "tcp6", "[::1]:0")
	port := strconv.Itoa(srv.Port)
	check(t, "-H", "[::1]", "-p", port, "-t", "2").Expect(t, 0, "SMTP OK - [::1]:"+port+" answered in T s")
	if dialled.Load() != 1 {
		t.Errorf("server on [::1] saw %d connections, want 1", dialled.Load())
	}
}

// TestIDN looks up an internationalised -H, --mx and -F by their A-labels.
func TestIDN(t *testing.T) {
	srv, _, ehlo := countingServer(t, "tcp", "127.0.0.1:0")
	port := strconv.Itoa(srv.Port)
	dnsAddr := dnstest.Start(t, false,
		"mail.xn--bcher-kva.example. 60 IN A 127.0.0.1",
		"xn--bcher-kva.example. 60 IN MX 10 mail.xn--bcher-kva.example.",
	)
	o := check(t, "-H", "mail.bücher.example", "--dns-server", dnsAddr, "-p", port, "-t", "2", "-F", "monitor.bücher.example")
	o.Expect(t, 0, "SMTP OK - mail.xn--bcher-kva.example (127.0.0.1:"+port+") answered in T s")
	if got, _ := ehlo.Load().(string); got != "EHLO monitor.xn--bcher-kva.example" {
		t.Errorf("server read %q, want the A-label of -F", got)
	}
	o = check(t, "--mx", "Bücher.example", "--dns-server", dnsAddr, "-p", port, "-t", "2")
	o.Expect(t, 0, "SMTP OK - all 1 MX addresses of xn--bcher-kva.example answered in T s")
}
