package imapbox

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// Refusal is why we did not send the credentials.
type Refusal int

// Refusals.
const (
	RefuseNone       Refusal = iota
	RefuseNoTLS              // the session is not encrypted and plaintext was not allowed
	RefuseUnverified         // the certificate does not verify (Box.VerifyErr says why)
	RefuseNoMech             // the server offers no way to log in with the credential held
)

// Error is a failure in one phase of the IMAP session. Every text in it
// has been through the session's redact.Set.
type Error struct {
	Phase   probe.Phase
	Kind    probe.Kind // KindReply: the server said NO, BAD or BYE (Status, Code, Text)
	Err     error
	Status  string  // "NO", "BAD" or "BYE"
	Code    string  // the response code, e.g. "AUTHENTICATIONFAILED"; "" when none
	Text    string  // the server's human-readable text, not shortened
	Refused Refusal // we withheld the credentials (Kind: KindUsage for RefuseNoTLS, else KindTLS or KindProtocol)
	// Overflow: the server sent more than MaxStepRead bytes in the phase
	// (Kind KindProtocol); the session was ended.
	Overflow bool
	// Flood is, for a timeout, the lines the server sent in the phase
	// when they were floodLines or more: it talked without finishing.
	Flood int
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Phase, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Probe is the failure as the state table (plugin.FailureState) takes it.
func (e *Error) Probe() *probe.Error {
	if e == nil {
		return nil
	}
	return &probe.Error{Phase: e.Phase, Kind: e.Kind, Err: e}
}

// AsError narrows an error from this package to *Error.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if err == nil {
		return nil
	}
	return &Error{Phase: "imap", Err: err}
}

// fail builds an *Error in phase, scrubbing the server's text and
// preferring the context's verdict: a call that failed because the
// deadline closed the socket is a timeout.
func (b *Box) fail(ctx context.Context, phase probe.Phase, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	e = &Error{Phase: phase, Kind: classify(err)}
	var ie *imap.Error
	if errors.As(err, &ie) {
		e.Kind, e.Status, e.Code = probe.KindReply, string(ie.Type), string(ie.Code)
		e.Text = b.cfg.Redact.Scrub(ie.Text)
	}
	if e.Kind != probe.KindReply && b.meter.over.Load() {
		e.Kind, e.Overflow = probe.KindProtocol, true
		e.Err = fmt.Errorf("the server sent more than %d KiB in this phase, far more than a search or a header section takes (a flood of responses, or an oversized literal): session ended", MaxStepRead>>10)
		return e
	}
	if e.Kind != probe.KindReply && (ctx.Err() != nil || b.expired()) {
		e.Kind, e.Err = probe.KindTimeout, cmp.Or(ctx.Err(), b.ctx.Err(), context.DeadlineExceeded)
		if n := b.meter.lines.Load(); n >= floodLines {
			e.Flood = int(n)
		}
		return e
	}
	if errors.As(err, new(tls.RecordHeaderError)) { // no server text: kept, for the caller to tell a plain port
		e.Err = err
		return e
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "imapclient: "), "imap: ")
	e.Err = errors.New(b.cfg.Redact.Scrub(msg))
	return e
}

// expired reports whether the session's own context has ended, or its
// deadline passed: the socket's deadline is the same instant, and go-imap
// keeps only the text of the error it caused.
func (b *Box) expired() bool {
	if b.ctx == nil {
		return false
	}
	dl, ok := b.ctx.Deadline()
	return b.ctx.Err() != nil || (ok && !time.Now().Before(dl))
}

// tlsFail is fail for a handshake: what is not a timeout, a close or the
// server's refusal of STARTTLS is a TLS failure.
func (b *Box) tlsFail(ctx context.Context, phase probe.Phase, err error) *Error {
	e := b.fail(ctx, phase, err)
	if phase == PhaseStartTLS && e.Kind != probe.KindTimeout && e.Kind != probe.KindReply && b.meter.read.Load() == 0 {
		// Not a byte of greeting (go-imap keeps only the text of the
		// reset or EOF): an IMAPS port, say, that drops a client that
		// does not start TLS.
		e.Kind, e.Err = probe.KindClosed, errors.New("the server closed the connection before its greeting")
	}
	if e.Kind == probe.KindProtocol || e.Kind == probe.KindOther {
		e.Kind = probe.KindTLS
	}
	return e
}

// classify is probe.Classify with go-imap's errors: the server's NO, BAD
// or BYE is a reply; what probe cannot name (go-imap's decoder errors carry
// no type) is a protocol error.
func classify(err error) probe.Kind {
	if errors.As(err, new(*imap.Error)) {
		return probe.KindReply
	}
	if k := probe.Classify(err); k != probe.KindOther {
		return k
	}
	return probe.KindProtocol
}

// tlsConfig verifies the peer itself, as probe does for SMTP: the handshake
// goes on with an untrusted certificate, so that the caller can say why it
// does not verify, and Login refuses to send credentials over it.
func (b *Box) tlsConfig(ctx context.Context) *tls.Config {
	t := b.cfg.Target
	name := t.ServerName
	if _, err := netip.ParseAddr(t.Host); name == "" && err != nil {
		name = t.Host // no SNI for IP literals (RFC 6066 §3)
	}
	phase := PhaseTLS
	if t.TLS == probe.TLSStartTLS {
		phase = PhaseStartTLS
	}
	return &tls.Config{
		ServerName:             name,
		InsecureSkipVerify:     true, // verified below, by VerifyConnection
		SessionTicketsDisabled: true,
		MinVersion:             t.MinVersion,
		MaxVersion:             t.MaxVersion,
		CipherSuites:           t.CipherSuites,
		VerifyConnection: func(cs tls.ConnectionState) error {
			b.TLS = &cs
			pool, err := t.Roots.Pool()
			if err != nil { // the command line's fault: nothing is sent inside
				return &Error{Phase: phase, Kind: probe.KindUsage, Err: fmt.Errorf("%s: %w", t.Roots.Label(), err)}
			}
			b.CertErr = probe.VerifyChain(ctx, cs.PeerCertificates, t.CheckedName(), pool)
			if !t.Insecure {
				b.VerifyErr = b.CertErr
			}
			return nil
		},
	}
}
