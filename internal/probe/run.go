package probe

import (
	"context"
	"errors"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Plan is one session as every plugin runs it: dial → banner → EHLO →
// STARTTLS (when the target asks) → the plugin's steps → a polite QUIT.
type Plan struct {
	Target     Target
	Transcript *smtp.Transcript // nil → a new one; AUTH registers its secrets there
	// Secrets are registered before the first line is read, where long
	// enough not to be an ordinary word (smtp.Transcript.AddLongSecret): a
	// server that knows them may send them before AUTH (a banner).
	Secrets []string
	Start   time.Time // when the run began (Total counts from it); zero → now

	// BannerOnly stops after the banner (and the implicit TLS handshake):
	// no EHLO, no STARTTLS, no steps.
	BannerOnly bool
	// RequireTLS makes a server that does not offer the STARTTLS asked for
	// an error of the starttls phase; otherwise Session.NoStartTLS says so
	// and the steps decide whether the plain session may go on.
	RequireTLS bool
	// Steps runs once the session is established; an error it returns
	// ends the session. It may call Session.HangUp.
	Steps func(ctx context.Context, s *Session) error
	// NoWaitQuit sends QUIT without reading the reply (check_smtp's -q).
	NoWaitQuit bool
	// OwnChainCheck: the caller judges the chain itself (check_smtp_tls),
	// so Run does not verify it under Target.Insecure for Session.CertErr.
	OwnChainCheck bool
	// Quiet keeps no transcript (Transcript is ignored, Session.Transcript
	// is nil): for sessions whose lines nobody reads, the load mode's
	// thousands, where it would only grow.
	Quiet bool
}

// Outcome is what a Plan's run showed, as data: the session (its replies,
// timings, TLS state and transcript), what ended it and how it ended.
type Outcome struct {
	S         *Session   // never nil; closed when Run returns
	Err       *Error     // what ended the session before QUIT (or the PROXY header answered); nil when it got there
	QuitReply smtp.Reply // the reply to QUIT, when it was read
	QuitErr   *Error     // a QUIT that failed (not judged with NoWaitQuit)
	Total     time.Duration
}

// Run carries out p under ctx's deadline. After a negative reply (the
// server still listens; a 554 greeting too) it still says QUIT, without
// waiting; after a 421 (the server is closing), a broken connection, a
// timeout or HangUp it just closes.
func Run(ctx context.Context, p Plan) (out Outcome) {
	start := p.Start
	if start.IsZero() {
		start = time.Now()
	}
	switch {
	case p.Quiet:
		p.Transcript = nil
	case p.Transcript == nil:
		p.Transcript = smtp.NewTranscript()
	}
	for _, sec := range p.Secrets {
		p.Transcript.AddLongSecret(sec) // nil-safe: a quiet session records nothing
	}
	defer func() {
		out.Total = time.Since(start)
		if !p.OwnChainCheck {
			out.S.checkInsecure(ctx) // decided here, so that judging it reads no file
		}
	}()

	s, err := Dial(ctx, p.Target, p.Transcript)
	out.S = s
	if err != nil {
		out.Err = AsError(err)
		return out
	}
	defer s.Close()
	if err := p.establish(ctx, s); err != nil {
		out.Err = AsError(err)
		out.checkProxy()
		if out.Err.Kind == KindReply && InStep(out.Err) && !s.hungUp { // not after a 421: the server is closing
			// A refusal after a suspect EHLO (HELO refused as well: the
			// replies to a v2 header's bytes, one command late) is told
			// from a server in step by QUIT's reply alone.
			wait := s.proxySuspect()
			rep, qerr := s.Quit(ctx, wait)
			if wait && qerr != nil && rep.Code != 0 && rep.Code != 221 {
				out.Err = proxyAnswered(*s.firstRefusal())
			}
		}
		return out
	}
	if s.hungUp {
		return out
	}
	// -q does not wait for QUIT's reply, except where only that reply can
	// tell whether the replies ran one command late (proxySuspect).
	wait := !p.NoWaitQuit || s.proxySuspect()
	rep, err := s.Quit(ctx, wait)
	out.QuitReply = rep
	if err != nil && wait {
		out.QuitErr = AsError(err)
	}
	out.checkProxy()
	if p.NoWaitQuit {
		out.QuitErr = nil
	}
	return out
}

func (p Plan) establish(ctx context.Context, s *Session) error {
	if p.BannerOnly {
		return nil
	}
	missing, err := s.Establish(ctx)
	switch {
	case err != nil:
		return err
	case missing && p.RequireTLS:
		return &Error{Phase: PhaseStartTLS, Kind: KindReply, Err: ErrNoStartTLS}
	case p.Steps == nil:
		return nil
	}
	return p.Steps(ctx, s)
}

// HangUp ends the session without QUIT once the steps return: after a 354
// everything sent is text of a message, so QUIT (or RSET) would be too.
func (s *Session) HangUp() { s.hungUp = true }

// InStep reports whether the session can go on after e: the server answered
// in turn, and neither said that it is closing (421) nor sent more than it
// was asked (the rest would be read as the next command's reply).
func InStep(e *Error) bool {
	switch e.Kind {
	case KindReply:
		return e.Reply == nil || e.Reply.Code != 421
	case KindProtocol:
		return !errors.As(e, new(*smtp.UnsolicitedError))
	case KindOther: // the client gave up (a SASL mechanism refused a challenge)
		return true
	}
	return false
}
