package tlscheck

import (
	"crypto"
	"crypto/tls"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// brokenKey signs nothing, as a server whose key does not work (a key
// file it cannot use, a broken HSM): crypto/tls then ends the handshake
// with internal_error, after it has sent its certificate.
type brokenKey struct{ pub crypto.PublicKey }

func (k brokenKey) Public() crypto.PublicKey { return k.pub }
func (k brokenKey) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the key cannot sign")
}

// TestInternalErrorAlert: a handshake the server ends with internal_error
// is advised as the server's own TLS failure, not as a version or cipher
// mismatch, and --scan-versions calls a version the server negotiated (and
// sent its certificate under) "negotiated, then failed", not refused.
func TestInternalErrorAlert(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	cert := root.MustIssue(t, leafOpts(nil))
	cert.PrivateKey = brokenKey{cert.PrivateKey.(crypto.Signer).Public()}
	l := serve(t, root, cert, smtptest.Config{}, &tls.Config{MinVersion: tls.VersionTLS12})
	const status = "SMTP TLS CRITICAL - starttls: TLS handshake failed: internal error ({addr}) - the server failed inside its own TLS setup, " +
		"not over a version or cipher: look at its TLS log (an unreadable key or certificate file, a key that does not match the certificate)"

	o := check(t, l.args("--scan-versions", "--min-tls", "1.0")...)
	o.Expect(t, 2, strings.ReplaceAll(status, "{addr}", l.srv.Addr))
	// crypto/tls fails TLS 1.2 with handshake_failure before its
	// certificate leaves the buffer: from here, that is a refusal.
	o.Contains(t, "\nscan: TLSv1.1 refused (starttls: remote error: tls: protocol version not supported)\n",
		"\nscan: TLSv1.2 refused (starttls: remote error: tls: handshake failure)\n",
		"\nscan: TLSv1.3 negotiated, then failed (starttls: remote error: tls: internal error)\n",
		"\nscan: accepted: none; refused: TLSv1.0, TLSv1.1, TLSv1.2; negotiated, then failed: TLSv1.3 |")
}

// TestInternalErrorBeforeHello: a server that fails inside its own TLS
// setup before it answers the ClientHello (internal_error at once, for
// every version) refuses no version: the scan says so, as the status does.
func TestInternalErrorBeforeHello(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	cert := root.MustIssue(t, leafOpts(nil))
	l := serve(t, root, cert, smtptest.Config{}, &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		return nil, errors.New("cannot read the key file")
	}})
	o := check(t, l.args("--scan-versions", "--min-tls", "1.2")...)
	o.Expect(t, 2, "SMTP TLS CRITICAL - starttls: TLS handshake failed: internal error ("+l.srv.Addr+") - the server failed inside its own TLS setup, "+
		"not over a version or cipher: look at its TLS log (an unreadable key or certificate file, a key that does not match the certificate)")
	o.Contains(t, "\nscan: TLSv1.0 failed inside the server's TLS setup before negotiating (starttls: remote error: tls: internal error): not a refusal of the version\n",
		"\nscan: accepted: none; failed inside the server's TLS setup: TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3 |")
}
