package plugin

import (
	"errors"
	"fmt"

	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// CredentialsUnverified words why credentials were not sent to where, a
// server whose certificate does not verify (err): alike in every plugin
// that logs in, with the remedy that fits the cause (caFile: the
// --ca-file given, if any) and the flag that sends them anyway.
func CredentialsUnverified(where string, err error, caFile string) string {
	return fmt.Sprintf("credentials not sent: the certificate of %s does not verify (%s) - %s, or add --insecure to send them anyway",
		where, PlainErr(err), CertAdvice(err, caFile))
}

// CredentialsNoStartTLS words why credentials were not sent to where, a
// server that does not offer the STARTTLS asked for: whoever strips it
// from the EHLO reply would read them.
func CredentialsNoStartTLS(where string) string {
	return fmt.Sprintf("credentials not sent: %s does not offer STARTTLS - enable TLS on the server, use -s if the port speaks implicit TLS, or add --allow-plaintext to send them unencrypted", where)
}

// InsecureNote says, for a status line, that --insecure let a session go on
// without verifying the certificate, loudly when it does not verify.
func InsecureNote(certErr error) string {
	if certErr != nil {
		return "certificate NOT verified: --insecure"
	}
	return "certificate not verified: --insecure"
}

// RootsUnreadable reports whether a certificate went unverified (err)
// only because this host's system roots could not be read: our host's
// fault, not the server's, so UNKNOWN in every plugin.
func RootsUnreadable(err error) bool { return errors.As(err, new(*probe.RootsError)) }

// RootsUnreadableText words that fact alike in every plugin.
func RootsUnreadableText(err error) string {
	return "tls: " + PlainErr(err) + " - repair this host's CA store (ca-certificates, $SSL_CERT_FILE, $SSL_CERT_DIR) or give --ca-file"
}
