// Package smtp is the wire layer: it reads and writes SMTP lines, parses replies
// and EHLO extensions, upgrades to TLS and runs SASL exchanges, recording a
// transcript with secrets redacted. It knows nothing of monitoring states.
//
// We do not use emersion/go-smtp's client here: it ignores deadlines set on the
// connection (it resets them per command), defers the STARTTLS handshake to the
// next command and sends AUTH over cleartext. A check needs each phase timed and
// bounded by one deadline, so this thin layer sits on net.Conn and crypto/tls.
package smtp
