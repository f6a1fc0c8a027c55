package tlscheck

import (
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// A --ca-file that is not a regular file of sane size (a FIFO, /dev/zero, a
// directory, 200 MiB) is refused at once as a usage error.
func TestHostileCAFile(t *testing.T) {
	for _, h := range plugintest.HostileFiles(t, "--ca-file", "8 MiB") {
		o := check(t, "-H", "127.0.0.1", "-p", "1", "-t", "2", "--ca-file", h.Path)
		o.Expect(t, 3, "SMTP TLS UNKNOWN - --ca-file: "+h.Why+" (see check_smtp_tls --help)")
		if o.Elapsed > time.Second {
			t.Errorf("%s: took %v", h.Name, o.Elapsed)
		}
	}
}

// The system roots are read bounded, and crypto/x509 is never left to read
// them itself: a $SSL_CERT_FILE that is not a regular file of sane size (a
// FIFO hung the run, /dev/zero ate memory) is an UNKNOWN naming it, at once,
// though the MTA-STS policy is fetched over HTTPS beside the session; one
// that holds the test's root makes both verify.
func TestSystemRootsFile(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	cert := root.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.example.test"}})
	l := serve(t, root, cert, smtptest.Config{}, nil)
	base := policyServer(t, root, "mta-sts.example.test", 200, "text/plain", "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n")
	dnsAddr := dnstest.Start(t, false, `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=1"`, "mx.example.test. 60 IN A 127.0.0.1")
	run := func() plugintest.Outcome {
		return check(t, "-H", "mx.example.test", "-p", l.port, "-t", "5", "-4",
			"--dns-server", dnsAddr, "--mta-sts", "example.test", "--mta-sts-url-base", base)
	}
	for _, h := range plugintest.HostileFiles(t, "$SSL_CERT_FILE", "8 MiB") {
		t.Setenv("SSL_CERT_FILE", h.Path)
		o := run()
		o.Expect(t, 3, "SMTP TLS UNKNOWN - tls: cannot read the system roots: $SSL_CERT_FILE "+h.Why+" - repair this host's CA store (ca-certificates, $SSL_CERT_FILE, $SSL_CERT_DIR) or give --ca-file")
		if o.Elapsed > time.Second {
			t.Errorf("%s: took %v", h.Name, o.Elapsed)
		}
	}
	t.Setenv("SSL_CERT_FILE", l.caFile)
	o := run()
	if o.Code != 0 || !strings.Contains(o.Status(), "chain verified for mx.example.test") ||
		!strings.Contains(o.Status(), "mta-sts: mx.example.test matches mx mx.example.test of example.test's policy (mode enforce)") {
		t.Errorf("exit %d:\n%s", o.Code, o.Out)
	}
}
