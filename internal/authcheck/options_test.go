package authcheck

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// plainAuthServer counts connections and accepts AUTH PLAIN without TLS.
func plainAuthServer(t *testing.T, network, addr string) (*smtptest.FaultServer, *atomic.Int32) {
	t.Helper()
	return smtptest.StartCounting(t, network, addr, func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO("AUTH PLAIN") != nil {
			return
		}
		if _, err := c.Expect("AUTH PLAIN"); err == nil {
			_ = c.Send("235 2.7.0 Authentication successful")
		}
		if _, err := c.Expect("QUIT"); err == nil {
			_ = c.Send("221 2.0.0 bye")
		}
	})
}

// TestBadValuesBeforeDialling: a value that cannot be used is an UNKNOWN
// naming the flag, before anything is looked up or dialled.
func TestBadValuesBeforeDialling(t *testing.T) {
	srv, dialled := plainAuthServer(t, "tcp", "127.0.0.1:0")
	port := itoa(srv.Port)
	pass := "file:" + secretFile(t, testPass)
	run := func(args ...string) plugintest.Outcome {
		return check(t, append(hostArgs(srv.Port, "--no-tls", "--allow-plaintext", "--user", testUser, "--password-ref", pass), args...)...)
	}
	plugintest.ExpectBadValues(t, "SMTP AUTH", "check_smtp_auth", dialled, run, []plugintest.BadValue{
		{[]string{"-p", "0"}, `-p 0: want a port between 1 and 65535`},
		{[]string{"-H", "127.0.0.1:" + port}, `-H "127.0.0.1:` + port + `": a host name carries no port: give it with -p`},
		{[]string{"-H", "[::1]:" + port}, `-H "[::1]:` + port + `": a host name carries no port: give it with -p`},
		{[]string{"-H", strings.Repeat("x", 300)}, `-H "` + strings.Repeat("x", 64) + `"...: longer than 253 characters, the limit of a DNS name`},
		{[]string{"-H", "localhost\r\n"}, `-H "localhost\r\n": a host name cannot contain control characters ("\r")`},
		{[]string{"-H", "mx.test/587"}, `-H "mx.test/587": '/' cannot be in a host name: use letters, digits, hyphens, underscores and dots`},
		{[]string{"-F", "monitor\nQUIT"}, `-F "monitor\nQUIT": a host name cannot contain control characters ("\n")`},
		{[]string{"--user", "mon\r\n@lab.test"}, `--user "mon\r\n@lab.test": contains a control character ("\r"), which cannot be sent in an SMTP command`},
		{[]string{"--user", "", "-U", "mon\x01auth=Bearer x"}, `-U "mon\x01auth=Bearer x": contains a control character ("\x01"), which cannot be sent in an SMTP command`},
		{[]string{"--sni-name", "mx.test:587"}, `--sni-name "mx.test:587": a host name carries no port`},
		{[]string{"--verify-name", "mx..test"}, `--verify-name "mx..test": empty label: a host name has no leading dot or two dots in a row`},
	})
}

// TestBracketedIPv6 reaches a server on [::1] given as -H '[::1]'.
func TestBracketedIPv6(t *testing.T) {
	srv, dialled := plainAuthServer(t, "tcp6", "[::1]:0")
	o := check(t, "-H", "[::1]", "-p", itoa(srv.Port), "-t", "2", "--no-tls", "--allow-plaintext",
		"--user", testUser, "--password-ref", "file:"+secretFile(t, testPass))
	if dialled.Load() != 1 || o.Code != 0 {
		t.Errorf("server on [::1] saw %d connections, want 1; exit %d:\n%s", dialled.Load(), o.Code, o.Out)
	}
}

// TestIDNNames sends an internationalised --sni-name as its A-label and
// verifies the certificate for the A-label of --verify-name.
func TestIDNNames(t *testing.T) {
	ca := smtptest.MustNewCA(t, "smtpcheck IDN test CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	var sni atomic.Value
	cfg := &tls.Config{
		Certificates:       []tls.Certificate{ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mail.xn--bcher-kva.example"}})},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) { sni.Store(h.ServerName); return nil, nil },
	}
	srv := authServer(t, pki{cfg: cfg}, "PLAIN", func(c *smtptest.FaultConn) {
		if _, err := c.Expect("AUTH PLAIN"); err == nil {
			_ = c.Send("235 2.7.0 Authentication successful")
		}
	})
	o := check(t, hostArgs(srv.Port, "--ca-file", caFile, "--user", testUser, "--password-ref", "file:"+secretFile(t, testPass),
		"--sni-name", "mail.bücher.example", "--verify-name", "MAIL.Bücher.example")...)
	if o.Code != 0 || !strings.Contains(o.Out, "; verified") {
		t.Errorf("exit %d, want 0 with the certificate verified for the A-label:\n%s", o.Code, o.Out)
	}
	if got, _ := sni.Load().(string); got != "mail.xn--bcher-kva.example" {
		t.Errorf("SNI %q, want the A-label", got)
	}
}
