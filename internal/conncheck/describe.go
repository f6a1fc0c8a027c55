package conncheck

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// describe words a failure for the status line: the phase, what happened,
// where, and what to do about it.
func describe(e *probe.Error, s *probe.Session, timeout time.Duration) string {
	what, todo := explain(e, s, timeout)
	msg := fmt.Sprintf("%s: %s (%s)", e.Phase, what, s)
	if todo != "" {
		msg += " - " + todo
	}
	return msg
}

func explain(e *probe.Error, s *probe.Session, timeout time.Duration) (what, todo string) {
	switch e.Kind {
	case probe.KindTimeout:
		return fmt.Sprintf("no answer within the %s s timeout", secsTrim(timeout)), timeoutAdvice(e.Phase)
	case probe.KindRefused:
		return "connection refused", "is the MTA running and listening on this address and port?"
	case probe.KindReset:
		return "connection reset by the server", "look at the server's log; a firewall or a crashed process may drop it"
	case probe.KindClosed:
		return "the server closed the connection", closedAdvice(e.Phase)
	case probe.KindResolve:
		return plainErr(e.Err), "check the name and the resolver"
	case probe.KindProtocol:
		return plainErr(e.Err), "this is not a well-behaved SMTP server on this port"
	case probe.KindReply:
		if errors.Is(e.Err, probe.ErrNoStartTLS) {
			return "the server does not offer STARTTLS", ""
		}
		if e.Reply != nil {
			return quoteReply(*e.Reply), smtp.Hint(*e.Reply)
		}
	case probe.KindTLS:
		return "TLS handshake failed: " + plainErr(e.Err), tlsAdvice(e, s)
	}
	return plainErr(e.Err), ""
}

func timeoutAdvice(ph probe.Phase) string {
	switch ph {
	case probe.PhaseConnect:
		return "a firewall may drop the packets, or the host is down"
	case probe.PhaseBanner:
		return "the server is overloaded or tarpitting, or this port wants implicit TLS (-s)"
	case probe.PhaseTLS, probe.PhaseStartTLS:
		return "the TLS handshake stalled; is this really a TLS port?"
	}
	return "the server is slow or stuck; raise -t if this is expected"
}

func closedAdvice(ph probe.Phase) string {
	switch ph {
	case probe.PhaseBanner:
		return "the server refused this client before greeting; check its access rules and connection limits"
	case probe.PhaseTLS:
		return "the server dropped the TLS handshake; is this a TLS port?"
	}
	return "look at the server's log"
}

func tlsAdvice(e *probe.Error, s *probe.Session) string {
	var rhe tls.RecordHeaderError
	if errors.As(e.Err, &rhe) {
		if e.Phase == probe.PhaseTLS {
			return "the port speaks plain SMTP: use -S (STARTTLS) instead of -s"
		}
		return "the server did not start TLS after its 220 reply"
	}
	return "the server and this client share no TLS version or cipher, or the server's TLS setup is broken"
}

// plainErr strips Go's "read tcp a->b:" noise from network errors.
func plainErr(err error) string {
	msg := err.Error()
	for _, op := range []string{"read tcp", "write tcp", "dial tcp"} {
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, op) {
			return msg[i+2:]
		}
	}
	return msg
}

func tlsVersion(v uint16) string { return strings.Replace(tls.VersionName(v), "TLS ", "TLSv", 1) }

func secsTrim(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}
