package conncheck

import (
	"os"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestSystemRootsUnreadable: a certificate that cannot be verified because
// this host's system roots cannot be read is this host's problem, not the
// server's: --verify and the -A refusal give UNKNOWN naming --ca-file, and
// without them the check passes and the TLS line says why it is unverified.
func TestSystemRootsUnreadable(t *testing.T) {
	l := newLab(t, smtptest.Config{}, smtptest.LeafOptions{})
	t.Setenv("SSL_CERT_FILE", os.DevNull)
	const (
		roots   = "cannot read the system roots: $SSL_CERT_FILE /dev/null: a device, not a regular file; give the path of a regular file"
		unknown = "SMTP UNKNOWN - tls: " + roots + " - repair this host's CA store (ca-certificates, $SSL_CERT_FILE) or give --ca-file"
	)

	o := check(t, l.args("-S", "--verify")...)
	o.Expect(t, 3, unknown)

	o = check(t, l.args("-S", "-A", "PLAIN", "-U", testUser, "-P", testPass, "-v")...)
	o.Expect(t, 3, unknown)
	o.Contains(t, "auth: credentials not sent: the certificate could not be verified", "C: QUIT")
	if strings.Contains(o.Out, "C: AUTH") {
		t.Errorf("AUTH sent:\n%s", o.Out)
	}

	o = check(t, l.args("-S")...)
	o.Expect(t, 0, "SMTP OK - 127.0.0.1:"+l.port+" answered in T s (STARTTLS TLSv1.3)")
	o.Contains(t, "NOT verified: "+roots+" |")

	o = check(t, l.args("-S", "--verify", "--ca-file", l.caFile)...)
	o.Expect(t, 0, "SMTP OK - 127.0.0.1:"+l.port+" answered in T s (STARTTLS TLSv1.3)")
}
