package plugin

import "fmt"

// CredentialsUnverified words why credentials were not sent to where, a
// server whose certificate does not verify (err): alike in every plugin
// that logs in, with the remedy that fits the cause (caFile: the
// --ca-file given, if any) and the flag that sends them anyway.
func CredentialsUnverified(where string, err error, caFile string) string {
	return fmt.Sprintf("credentials not sent: the certificate of %s does not verify (%s) - %s, or add --insecure to send them anyway",
		where, PlainErr(err), certAdvice(err, caFile))
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
