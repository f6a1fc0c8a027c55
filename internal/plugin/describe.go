package plugin

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// The wording of the probe's facts lives here, beside the flags it names:
// the probe and the wire say what happened, the plugin layer says what to
// do about it.

// Describe words a failed session for a status line: the phase, what
// happened, where (the session's host and address), and what to do about
// it. Every plugin words probe failures alike, each naming its own flags
// (Common.Spelling); this one check_smtp_conn's.
func Describe(e *probe.Error, s *probe.Session, timeout time.Duration) string {
	return ConnSpelling.Describe(e, s, timeout)
}

// Describe is Describe naming the flags of sp's plugin.
func (sp Spelling) Describe(e *probe.Error, s *probe.Session, timeout time.Duration) string {
	what, todo := sp.Explain(e, s, timeout)
	msg := fmt.Sprintf("%s: %s (%s)", e.Phase, what, s)
	if todo != "" {
		msg += " - " + todo
	}
	return msg
}

// Explain says what happened and what to do, from the failure's kind and
// phase; s (which may be nil) says what the client offered.
func Explain(e *probe.Error, s *probe.Session, timeout time.Duration) (what, todo string) {
	return ConnSpelling.Explain(e, s, timeout)
}

// Explain is Explain naming the flags of sp's plugin.
func (sp Spelling) Explain(e *probe.Error, s *probe.Session, timeout time.Duration) (what, todo string) {
	what, todo = sp.explain(e, s, timeout)
	if e.Phase == probe.PhaseTLS && s != nil && s.Target.Proxy != 0 && s.CertVersion == 0 {
		// Implicit TLS after a PROXY header: a server that does not expect
		// one reads it as a broken ClientHello, and fails before any
		// certificate whatever its TLS setup.
		todo = "the server may not expect the PROXY header sent before TLS: drop -r (--proxy-version), or have it expect one; else " + todo
	}
	return what, todo
}

func (sp Spelling) explain(e *probe.Error, s *probe.Session, timeout time.Duration) (what, todo string) {
	switch e.Kind {
	case probe.KindTimeout:
		return fmt.Sprintf("no answer within the %s s timeout", Secs(timeout)), sp.timeoutAdvice(e.Phase, s)
	case probe.KindRefused:
		return "connection refused", "is the MTA running and listening on this address and port?"
	case probe.KindReset:
		return "connection reset by the server", "look at the server's log; a firewall or a crashed process may drop it"
	case probe.KindClosed:
		switch e.Phase {
		case probe.PhaseBanner:
			return "the server closed the connection", "the server refused this client before greeting; check its access rules and connection limits"
		case probe.PhaseTLS, probe.PhaseStartTLS:
			return "the server closed the connection during the TLS handshake", "look at the server's TLS log; it may accept no version or cipher this client offers"
		}
		return "the server closed the connection", "look at the server's log"
	case probe.KindResolve:
		return PlainErr(e.Err), hostdns.Advice(e.Err) // by the DNS answer's code where known
	case probe.KindProtocol:
		if pa, ok := errors.AsType[*probe.ProxyAnsweredError](e.Err); ok {
			return "the server answered the PROXY header with " + Quote(pa.Reply),
				"it does not expect the PROXY protocol from this client: drop -r (--proxy-version), or have the server expect it (Postfix: smtpd_upstream_proxy_protocol, Exim: hosts_proxy)"
		}
		return PlainErr(e.Err), "this is not a well-behaved SMTP server on this port"
	case probe.KindReply:
		if errors.Is(e.Err, probe.ErrNoStartTLS) {
			return "the server does not offer STARTTLS", "enable TLS in the MTA, or use -s if this port speaks implicit TLS"
		}
		if e.Reply != nil {
			return Quote(*e.Reply), sp.Hint(e.Phase, *e.Reply, s)
		}
	case probe.KindTLS:
		return "TLS handshake failed: " + PlainErr(e.Err), tlsAdvice(e, s)
	}
	return PlainErr(e.Err), ""
}

func (sp Spelling) timeoutAdvice(ph probe.Phase, s *probe.Session) string {
	switch {
	case ph == probe.PhaseDNS:
		return "the DNS server did not answer: is it reachable, and does it answer for this name?"
	case ph == probe.PhaseConnect:
		return "a firewall may drop the packets, or the host is down"
	case ph == probe.PhaseBanner && s != nil && s.Target.TLS == probe.TLSImplicit:
		return "the server is overloaded or tarpitting"
	case ph == probe.PhaseBanner:
		return "the server is overloaded or tarpitting, or this port wants implicit TLS (-s)"
	case ph == probe.PhaseTLS:
		return "the TLS handshake stalled; is this really an implicit TLS port?"
	case ph == probe.PhaseStartTLS && s != nil && s.StartTLSReply.Code == 0:
		return "the server did not answer STARTTLS: it is stuck or overloaded, look at its log"
	case ph == probe.PhaseStartTLS:
		return "the TLS handshake after STARTTLS stalled: look at the server's TLS setup and log"
	}
	return "the server is slow or stuck; raise " + cmp.Or(sp.Timeout, "-t") + " if this is expected"
}

func tlsAdvice(e *probe.Error, s *probe.Session) string {
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(e.Err, &rhe) && e.Phase == probe.PhaseTLS:
		return "the port speaks plain SMTP: use -S (STARTTLS) instead of -s"
	case errors.As(e.Err, &rhe):
		return "the server did not start TLS after its 220 reply"
	case protocolVersionAlert(e.Err):
		min := uint16(tls.VersionTLS12) // crypto/tls's own minimum as a client
		if s != nil && s.Target.MinVersion != 0 {
			min = s.Target.MinVersion
		}
		return "the server accepts no TLS version from " + tlsaudit.VersionName(min) + " up (--min-tls)"
	}
	if a, ok := RemoteAlert(e.Err); ok {
		if advice, ok := alertAdvice[a]; ok {
			return advice
		}
		if a != alertHandshakeFailure {
			return "the server ended the handshake with this alert: look at its TLS log"
		}
	}
	return "the server and this client share no TLS version or cipher, or the server's TLS setup is broken"
}

// alertHandshakeFailure (40) is the alert of no common version, cipher or
// key exchange; the others say something else (RFC 8446 §6.2).
const alertHandshakeFailure tls.AlertError = 40

// alertAdvice says what the server's alert means, where it says more than
// "no common parameters" (RFC 8446 §6.2).
var alertAdvice = func() map[tls.AlertError]string {
	const (
		clientCert = "the server wants a client certificate, which these plugins do not send"
		rejected   = "the server's TLS stack rejected this client's handshake: a broken TLS setup or a middlebox; look at its TLS log"
	)
	return map[tls.AlertError]string{
		80:  "the server failed inside its own TLS setup, not over a version or cipher: look at its TLS log (an unreadable key or certificate file, a key that does not match the certificate)", // internal_error
		71:  "the server wants stronger ciphers than this client offers: check its cipher settings",                                                                                             // insufficient_security
		112: "the server has no certificate for the name sent as SNI: give --sni-name with a name it serves",                                                                                    // unrecognized_name
		49:  "the server refuses TLS to this client: check its access rules",                                                                                                                    // access_denied
		116: clientCert, 42: clientCert,                                                                                                                                                         // certificate_required, bad_certificate
		10: rejected, 47: rejected, 50: rejected, // unexpected_message, illegal_parameter, decode_error
	}
}()

// RemoteAlert is the alert the server ended the handshake with. crypto/tls
// reports it as a "remote error" around an unexported type whose text is
// that of tls.AlertError, so the text is matched against those.
func RemoteAlert(err error) (tls.AlertError, bool) {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "remote error" || op.Err == nil {
		return 0, false
	}
	for a := range 256 {
		if tls.AlertError(a).Error() == op.Err.Error() {
			return tls.AlertError(a), true
		}
	}
	return 0, false
}

// protocolVersionAlert matches alert 70 (protocol_version), sent by a
// server or by crypto/tls itself: both come without an exported type, so
// only the text is left.
func protocolVersionAlert(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "protocol version not supported") || strings.Contains(msg, "unsupported protocol version")
}

// PlainErr strips Go's "read tcp a->b:" noise from network errors.
func PlainErr(err error) string {
	msg := err.Error()
	for _, op := range []string{"read tcp", "write tcp", "dial tcp", "remote error: "} {
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, op) {
			return msg[i+2:]
		}
	}
	return msg
}

// Quote shows a reply's first line with its code, in quotes, at most 120 bytes.
func Quote(r smtp.Reply) string {
	s := r.String()
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return "\"" + s + "\""
}

// Secs renders a duration in seconds without trailing zeros: "1", "2.5".
func Secs(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}

// TLSLine describes the session's TLS for long output: version, cipher,
// the leaf certificate and whether its chain verified (checked even with
// --insecure, to say so).
func TLSLine(s *probe.Session) string {
	st := s.TLS
	line := fmt.Sprintf("tls: %s %s", tlsaudit.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	if len(st.PeerCertificates) == 0 {
		return line
	}
	leaf := st.PeerCertificates[0]
	verdict := "verified"
	switch err := s.CertErr(); {
	case s.Target.Insecure && err != nil:
		verdict = "NOT verified (--insecure): " + PlainErr(err)
	case s.Target.Insecure:
		verdict = "not verified (--insecure)"
	case err != nil:
		verdict = "NOT verified: " + PlainErr(err)
	}
	return fmt.Sprintf("%s; certificate %q, expires %s; %s", line, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format("2006-01-02"), verdict)
}

// CertAdvice says what makes a certificate that does not verify (err)
// verify, by its cause: a renewal for an expired one, --verify-name for
// another name, --ca-file for an unknown issuer (unless it was given).
func CertAdvice(err error, caFile string) string {
	var (
		inv  x509.CertificateInvalidError
		host x509.HostnameError
		ua   x509.UnknownAuthorityError
	)
	switch {
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return "the server's certificate (or one of its chain) is expired or not yet valid: renew it, or check this host's clock"
	case errors.As(err, &host):
		return "give --verify-name with a name the certificate carries, or fix the certificate"
	case errors.As(err, &ua) && caFile != "":
		return "it is not signed by a CA in --ca-file " + caFile + ": give the CA that signed it"
	case errors.As(err, &ua) && ua.Cert != nil && bytes.Equal(ua.Cert.RawIssuer, ua.Cert.RawSubject):
		return "it is self-signed: add --ca-file with the certificate itself"
	case errors.As(err, &ua) && ua.Cert != nil && ua.Cert.Issuer.CommonName != "":
		return fmt.Sprintf("add --ca-file with the CA that signed it (%q)", ua.Cert.Issuer.CommonName)
	case errors.As(err, &ua):
		return "add --ca-file with the CA that signed it"
	}
	return "look at the certificate with check_smtp_tls"
}
