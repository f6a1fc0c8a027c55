package probe

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Describe words a failure for a status line: the phase, what happened,
// where, and what to do about it. Every plugin words probe failures alike.
func (e *Error) Describe(where string, timeout time.Duration) string {
	what, todo := e.Explain(timeout)
	msg := fmt.Sprintf("%s: %s (%s)", e.Phase, what, where)
	if todo != "" {
		msg += " - " + todo
	}
	return msg
}

// Explain says what happened and what to do, from the failure's kind and phase.
func (e *Error) Explain(timeout time.Duration) (what, todo string) {
	switch e.Kind {
	case KindTimeout:
		return fmt.Sprintf("no answer within the %s s timeout", Secs(timeout)), timeoutAdvice(e.Phase)
	case KindRefused:
		return "connection refused", "is the MTA running and listening on this address and port?"
	case KindReset:
		return "connection reset by the server", "look at the server's log; a firewall or a crashed process may drop it"
	case KindClosed:
		switch e.Phase {
		case PhaseBanner:
			return "the server closed the connection", "the server refused this client before greeting; check its access rules and connection limits"
		case PhaseTLS, PhaseStartTLS:
			return "the server closed the connection during the TLS handshake", "look at the server's TLS log; it may accept no version or cipher this client offers"
		}
		return "the server closed the connection", "look at the server's log"
	case KindResolve:
		return PlainErr(e.Err), "check the name and the resolver"
	case KindProtocol:
		return PlainErr(e.Err), "this is not a well-behaved SMTP server on this port"
	case KindReply:
		if errors.Is(e.Err, ErrNoStartTLS) {
			return "the server does not offer STARTTLS", "enable TLS in the MTA, or use -s if this port speaks implicit TLS"
		}
		if e.Reply != nil {
			return Quote(*e.Reply), smtp.Hint(*e.Reply)
		}
	case KindTLS:
		return "TLS handshake failed: " + PlainErr(e.Err), tlsAdvice(e)
	}
	return PlainErr(e.Err), ""
}

func timeoutAdvice(ph Phase) string {
	switch ph {
	case PhaseConnect:
		return "a firewall may drop the packets, or the host is down"
	case PhaseBanner:
		return "the server is overloaded or tarpitting, or this port wants implicit TLS (-s)"
	case PhaseTLS, PhaseStartTLS:
		return "the TLS handshake stalled; is this really a TLS port?"
	}
	return "the server is slow or stuck; raise -t if this is expected"
}

func tlsAdvice(e *Error) string {
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(e.Err, &rhe) && e.Phase == PhaseTLS:
		return "the port speaks plain SMTP: use -S (STARTTLS) instead of -s"
	case errors.As(e.Err, &rhe):
		return "the server did not start TLS after its 220 reply"
	}
	return "the server and this client share no TLS version or cipher, or the server's TLS setup is broken"
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
func (s *Session) TLSLine() string {
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
