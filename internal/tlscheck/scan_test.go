package tlscheck

import (
	"crypto/tls"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestScanVersions runs --scan-versions against go servers that accept
// exactly the given versions.
func TestScanVersions(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	cert := root.MustIssue(t, leafOpts(nil))
	cases := []struct {
		name     string
		min, max uint16
		code     int
		status   string // "" → the OK line
		accepted string
	}{
		{"only 1.2", tls.VersionTLS12, tls.VersionTLS12, 0, "", "scan: TLSv1.3 refused"},
		{"1.2 and 1.3", tls.VersionTLS12, tls.VersionTLS13, 0, "", "scan: accepted: TLSv1.2, TLSv1.3"},
		{"1.0 to 1.3", tls.VersionTLS10, tls.VersionTLS13, 1, "SMTP TLS WARNING - scan: the server accepts TLSv1.0 and TLSv1.1",
			"scan: accepted: TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := serve(t, root, cert, smtptest.Config{}, &tls.Config{MinVersion: tc.min, MaxVersion: tc.max})
			o := check(t, l.args("--scan-versions")...)
			if tc.status != "" {
				o.Expect(t, tc.code, tc.status)
			} else if o.Code != 0 || !strings.HasPrefix(o.Status(), "SMTP TLS OK - ") {
				t.Errorf("exit %d: %s", o.Code, o.Out)
			}
			o.Contains(t, tc.accepted)
		})
	}
	t.Run("legacy state configurable", func(t *testing.T) {
		l := serve(t, root, cert, smtptest.Config{}, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		o := check(t, l.args("--scan-versions", "--legacy-tls-state", "critical", "--min-tls", "1.0")...)
		o.Expect(t, 2, "SMTP TLS CRITICAL - scan: the server accepts TLSv1.0 and TLSv1.1")
		o.Contains(t, "scan: TLSv1.2 refused", "tls: TLSv1.1 ")
	})
	t.Run("legacy suites only: RSA key exchange and 3DES", func(t *testing.T) {
		// Go offers neither by default any more; the scan must still see them.
		rsaRoot, err := smtptest.NewRSACA("RSA Root", 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaCert := rsaRoot.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) { o.RSABits = 2048 }))
		l := serve(t, rsaRoot, rsaCert, smtptest.Config{}, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}})
		// The main session keeps Go's safe suites and so finds none in
		// common: CRITICAL, with the scan saying what the server does speak.
		o := check(t, l.args("--scan-versions", "--min-tls", "1.0")...)
		o.Expect(t, 2, "SMTP TLS CRITICAL - starttls: TLS handshake failed: handshake failure ("+l.srv.Addr+
			") - the server and this client share no TLS version or cipher, or the server's TLS setup is broken")
		o.Contains(t, "scan: TLSv1.0 accepted (TLS_RSA_WITH_AES_128_CBC_SHA)", "scan: TLSv1.1 accepted (TLS_RSA_WITH_AES_128_CBC_SHA)",
			"scan: TLSv1.2 accepted (TLS_RSA_WITH_AES_128_CBC_SHA)", "scan: accepted: TLSv1.0, TLSv1.1, TLSv1.2")
	})
	t.Run("1.1 only server against the default --min-tls", func(t *testing.T) {
		l := serve(t, root, cert, smtptest.Config{}, &tls.Config{MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11})
		o := check(t, l.args()...)
		if o.Code != 2 || !strings.HasPrefix(o.Status(), "SMTP TLS CRITICAL - starttls: TLS handshake failed: ") ||
			!strings.HasSuffix(o.Status(), "the server accepts no TLS version from TLSv1.2 up (--min-tls)") {
			t.Errorf("exit %d: %s", o.Code, o.Out)
		}
	})
}

// TestStalls: a handshake that never completes ends within -t + 0.5 s and
// names its phase.
func TestStalls(t *testing.T) {
	cases := []struct {
		name   string
		script func(c *smtptest.FaultConn)
		args   []string
		status string
	}{
		{"STARTTLS handshake stalls", func(c *smtptest.FaultConn) {
			_ = c.Greet()
			_ = c.EHLO("STARTTLS")
			if _, err := c.Expect("STARTTLS"); err == nil {
				_ = c.Send("220 2.0.0 go ahead")
			}
			c.Hang()
		}, nil, "SMTP TLS CRITICAL - starttls: no answer within the 1 s timeout ({addr}) - the TLS handshake after STARTTLS stalled: look at the server's TLS setup and log"},
		{"implicit TLS handshake stalls", func(c *smtptest.FaultConn) { c.Hang() }, []string{"-s"},
			"SMTP TLS CRITICAL - tls: no answer within the 1 s timeout ({addr}) - the TLS handshake stalled; is this really an implicit TLS port?"},
		{"stall with --scan-versions, timeout UNKNOWN", func(c *smtptest.FaultConn) { c.Hang() }, []string{"-s", "--scan-versions", "-t", "1:UNKNOWN"},
			"SMTP TLS UNKNOWN - tls: no answer within the 1 s timeout ({addr}) - the TLS handshake stalled; is this really an implicit TLS port?"},
		{"STARTTLS not offered", func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); c.Hang() }, nil,
			"SMTP TLS CRITICAL - starttls: the server does not offer STARTTLS ({addr}) - enable TLS in the MTA, or use -s if this port speaks implicit TLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.MustStartFault(t, tc.script)
			o := check(t, append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "1"}, tc.args...)...)
			o.Expect(t, map[bool]int{true: 3, false: 2}[strings.Contains(tc.status, "UNKNOWN")], strings.ReplaceAll(tc.status, "{addr}", srv.Addr))
			o.Within(t, time.Second)
		})
	}
}
