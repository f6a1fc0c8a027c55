package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Phase names a step of the session; the names are also perfdata labels.
type Phase string

// The phases, in session order.
const (
	PhaseDNS      Phase = "dns"
	PhaseConnect  Phase = "connect"
	PhaseProxy    Phase = "proxy"
	PhaseTLS      Phase = "tls" // implicit TLS handshake
	PhaseBanner   Phase = "banner"
	PhaseEHLO     Phase = "ehlo"
	PhaseStartTLS Phase = "starttls"
	PhaseEHLOTLS  Phase = "ehlo_tls" // EHLO again inside TLS
	PhaseAuth     Phase = "auth"
	PhaseMail     Phase = "mail"
	PhaseRcpt     Phase = "rcpt"
	PhaseData     Phase = "data"    // DATA until its 354
	PhaseMessage  Phase = "message" // the message until the reply to its end (or BDAT)
	PhaseCommand  Phase = "command"
	PhaseRset     Phase = "rset"
	PhaseQuit     Phase = "quit"
)

// Phases are all the phases, in session order: the order of perfdata.
var Phases = []Phase{PhaseDNS, PhaseConnect, PhaseProxy, PhaseTLS, PhaseBanner, PhaseEHLO, PhaseStartTLS,
	PhaseEHLOTLS, PhaseAuth, PhaseMail, PhaseRcpt, PhaseData, PhaseMessage, PhaseCommand, PhaseRset, PhaseQuit}

// Timing is how long one phase took.
type Timing struct {
	Phase    Phase
	Duration time.Duration
}

// Kind classifies a failure so that callers can word it and pick a state.
type Kind int

// Failure kinds.
const (
	KindOther    Kind = iota
	KindTimeout       // the deadline passed
	KindRefused       // connection refused
	KindReset         // connection reset by peer
	KindClosed        // the server closed the connection (EOF)
	KindResolve       // name resolution failed
	KindProtocol      // malformed reply or limits exceeded
	KindReply         // a well-formed but negative reply
	KindTLS           // TLS handshake failed
	KindUsage         // the request itself cannot be carried out (refused by us)
)

// Error is a failure in one phase.
type Error struct {
	Phase Phase
	Kind  Kind
	Err   error
	Reply *smtp.Reply // the server's reply, when there was one
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Phase, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// fail builds an *Error, classifying err and preferring the context's verdict:
// a read that failed because the deadline closed the socket is a timeout.
func fail(ctx context.Context, phase Phase, err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	e := &Error{Phase: phase, Err: err, Kind: classify(err)}
	if ctx.Err() != nil && e.Kind != KindReply {
		e.Kind = KindTimeout
		e.Err = ctx.Err()
	}
	var re *smtp.ReplyError
	if errors.As(err, &re) {
		e.Kind = KindReply
		e.Reply = &re.Reply
	}
	return e
}

// Classify is the kind of a network or TLS failure, as every protocol
// meets them (IMAP too); KindOther when it is none of those.
func Classify(err error) Kind {
	var (
		ne   net.Error
		dnse *net.DNSError
		rhe  tls.RecordHeaderError
		ae   *tls.AlertError
		cve  *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return KindTimeout
	case errors.As(err, &dnse):
		return KindResolve
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return KindClosed
	case errors.As(err, &rhe), errors.As(err, &ae), errors.As(err, &cve):
		return KindTLS
	}
	return KindOther
}

// classify is Classify with the SMTP wire's own errors.
func classify(err error) Kind {
	if errors.As(err, new(*smtp.ReplyError)) {
		return KindReply
	}
	k := Classify(err)
	switch {
	case k != KindTLS && k != KindOther: // timeout, DNS, refused, reset, closed
		return k
	case errors.As(err, new(*smtp.ProtocolError)), errors.As(err, new(*smtp.UnsolicitedError)),
		errors.Is(err, smtp.ErrLineTooLong), errors.Is(err, smtp.ErrTooManyLines):
		return KindProtocol
	case k == KindTLS:
		return k
	case errors.Is(err, smtp.ErrInjection):
		return KindUsage
	}
	return KindOther
}

func (p Phase) String() string { return string(p) }

// AsError narrows an error from this package to *Error; anything else (it
// should not happen) becomes an *Error of an unnamed "check" phase.
func AsError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Phase: "check", Err: err}
}
