package conncheck

import (
	"os"
	"os/exec"
	"path/filepath"
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
		unknown = "SMTP UNKNOWN - tls: " + roots + " - repair this host's CA store (ca-certificates, $SSL_CERT_FILE, $SSL_CERT_DIR) or give --ca-file"
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

// TestSystemRootsCertDir: a private CA in $SSL_CERT_DIR, not in the bundle
// of $SSL_CERT_FILE, is trusted under its subject's hash link (made by
// c_rehash or update-ca-certificates), as OpenSSL trusts it; in a file of
// another name it is not found (OpenSSL's lookup, not crypto/x509's read
// of every file), nor in no directory: an untrusted chain.
func TestSystemRootsCertDir(t *testing.T) {
	l := newLab(t, smtptest.Config{}, smtptest.LeafOptions{})
	bundle := filepath.Join(t.TempDir(), "bundle.pem")
	if err := smtptest.MustNewCA(t, "unrelated CA").WriteCAFile(bundle); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(l.caFile)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := exec.Command("openssl", "x509", "-subject_hash", "-noout", "-in", l.caFile).Output()
	if err != nil {
		t.Skipf("no openssl to name the hash link: %v", err)
	}
	linked, unlinked := t.TempDir(), t.TempDir()
	for _, err := range []error{
		os.WriteFile(filepath.Join(linked, "private.pem"), ca, 0o644),
		os.Symlink("private.pem", filepath.Join(linked, strings.TrimSpace(string(hash))+".0")),
		os.WriteFile(filepath.Join(unlinked, "private.pem"), ca, 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SSL_CERT_FILE", bundle)

	t.Setenv("SSL_CERT_DIR", linked)
	o := check(t, l.args("-S", "--verify")...)
	o.Expect(t, 0, "SMTP OK - 127.0.0.1:"+l.port+" answered in T s (STARTTLS TLSv1.3)")

	for _, dir := range []string{unlinked, t.TempDir()} {
		t.Setenv("SSL_CERT_DIR", dir)
		o = check(t, l.args("-S", "--verify")...)
		o.Expect(t, 2, `SMTP CRITICAL - tls: certificate does not verify: x509: certificate signed by unknown authority - add --ca-file with the CA that signed it ("smtpcheck test CA")`)
	}
}
