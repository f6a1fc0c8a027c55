package tlscheck

import (
	"crypto/tls"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// plainServer counts connections and offers no STARTTLS.
func plainServer(t *testing.T, network, addr string) (*smtptest.FaultServer, *atomic.Int32) {
	t.Helper()
	return smtptest.StartCounting(t, network, addr, func(c *smtptest.FaultConn) {
		if c.Greet() == nil && c.EHLO() == nil {
			if _, err := c.Expect("QUIT"); err == nil {
				_ = c.Send("221 2.0.0 bye")
			}
		}
	})
}

// TestBadValuesBeforeDialling: a value that cannot be used is an UNKNOWN
// naming the flag (not a CRITICAL after connecting), before anything is
// looked up or dialled.
func TestBadValuesBeforeDialling(t *testing.T) {
	srv, dialled := plainServer(t, "tcp", "127.0.0.1:0")
	port := strconv.Itoa(srv.Port)
	run := func(args ...string) plugintest.Outcome {
		return check(t, append([]string{"-H", "127.0.0.1", "-p", port, "-t", "2"}, args...)...)
	}
	plugintest.ExpectBadValues(t, "SMTP TLS", "check_smtp_tls", dialled, run, []plugintest.BadValue{
		{[]string{"-p", "0"}, `-p 0: want a port between 1 and 65535`},
		{[]string{"-H", "localhost:" + port}, `-H "localhost:` + port + `": a host name carries no port: give it with -p`},
		{[]string{"-H", strings.Repeat("x", 300)}, `-H "` + strings.Repeat("x", 64) + `"...: longer than 253 characters, the limit of a DNS name`},
		{[]string{"-H", strings.Repeat("x", 64) + ".test"}, `-H "` + strings.Repeat("x", 64) + `"...: the label "` + strings.Repeat("x", 64) + `" is longer than 63 characters`},
		{[]string{"-H", "localhost\r\n"}, `-H "localhost\r\n": a host name cannot contain control characters ("\r")`},
		{[]string{"-F", "monitor\r\nQUIT"}, `-F "monitor\r\nQUIT": a host name cannot contain control characters ("\r")`},
		{[]string{"--sni-name", "mx.test\x00"}, `--sni-name "mx.test\x00": a host name cannot contain control characters ("\x00")`},
		{[]string{"--verify-name", "mx.test:25"}, `--verify-name "mx.test:25": a host name carries no port`},
		{[]string{"--verify-name", "mx.test", "--mta-sts", "192.0.2.1"}, `--mta-sts "192.0.2.1": want a domain name, not an IP address`},
		{[]string{"--verify-name", "mx.test", "--mta-sts", "example.test\n"}, `--mta-sts "example.test\n": a host name cannot contain control characters ("\n")`},
	})
}

// TestBracketedIPv6 reaches a server on [::1] given as -H '[::1]'.
func TestBracketedIPv6(t *testing.T) {
	srv, dialled := plainServer(t, "tcp6", "[::1]:0")
	o := check(t, "-H", "[::1]", "-p", strconv.Itoa(srv.Port), "-t", "2")
	if dialled.Load() != 1 || o.Code != 2 || !strings.Contains(o.Status(), "[::1]:"+strconv.Itoa(srv.Port)) {
		t.Errorf("server on [::1] saw %d connections, want 1 and a CRITICAL about its missing STARTTLS:\n%s", dialled.Load(), o.Out)
	}
}

// TestIDN looks up an internationalised -H by its A-label, sends that as
// SNI and verifies the certificate for it.
func TestIDN(t *testing.T) {
	ca := smtptest.MustNewCA(t, "Test Root")
	cert := ca.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) { o.DNSNames, o.IPs = []string{"mail.xn--bcher-kva.example"}, nil }))
	var sni atomic.Value
	l := serve(t, ca, cert, smtptest.Config{}, &tls.Config{
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) { sni.Store(h.ServerName); return nil, nil },
	})
	dnsAddr := dnstest.Start(t, false, "mail.xn--bcher-kva.example. 60 IN A 127.0.0.1")
	o := check(t, "-H", "mail.bücher.example", "--dns-server", dnsAddr, "-p", l.port, "-t", "5", "--ca-file", l.caFile)
	if o.Code != 0 || !strings.Contains(o.Status(), "chain verified for mail.xn--bcher-kva.example") {
		t.Errorf("exit %d, want OK verified for the A-label:\n%s", o.Code, o.Out)
	}
	if got, _ := sni.Load().(string); got != "mail.xn--bcher-kva.example" {
		t.Errorf("SNI %q, want the A-label", got)
	}
}
