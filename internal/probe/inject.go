package probe

import (
	"context"
	"errors"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Injection is what the STARTTLS command-injection probe (CVE-2011-0411
// class) saw: STARTTLS and NOOP sent in one write, in clear text.
type Injection struct {
	StartTLS smtp.Reply // the reply to STARTTLS
	// Plain is the reply to the NOOP read in clear text after a STARTTLS
	// that was refused: the server treated it as an ordinary command.
	Plain smtp.Reply
	// Answered is a reply that came inside TLS before this side sent
	// anything there: the server ran the NOOP it had buffered in clear
	// text as a command of the encrypted session. Zero when none came.
	Answered smtp.Reply
	// Late: the NOOP's reply came only after the EHLO sent inside TLS,
	// ahead of the EHLO's own reply (same flaw, slower server).
	Late bool
	// Extra is a second reply to the EHLO inside TLS: the first was the
	// NOOP's, answered after the wait (a slow server). Zero when none came.
	Extra smtp.Reply
}

// InjectStartTLS runs the probe on an established plain session whose EHLO
// offered STARTTLS. A NOOP answered inside TLS is the flaw: an attacker on
// the path can prepend commands that the server then runs as if the client
// had sent them encrypted. wait bounds how long to listen for that answer
// before EHLO goes out inside TLS.
func (s *Session) InjectStartTLS(ctx context.Context, wait time.Duration) (Injection, error) {
	var in Injection
	err := s.timed(ctx, PhaseStartTLS, func() error {
		b, err := s.conn.SendBatch("STARTTLS", "NOOP")
		if err != nil {
			return err
		}
		if in.StartTLS, err = b.Next(); err != nil {
			return err
		}
		s.StartTLSReply = in.StartTLS
		if in.StartTLS.Code != 220 {
			in.Plain, err = b.Next() // the session goes on in clear text
			return err
		}
		if err := s.handshake(ctx); err != nil {
			return err
		}
		// A short wait here; the rest after the EHLO, for a slow server
		// whose answer to the NOOP would be read as the EHLO's reply.
		in.Answered, err = s.readWithin(ctx, wait/4)
		return err
	})
	if err != nil {
		return in, tlsFail(ctx, PhaseStartTLS, err)
	}
	if s.TLS == nil {
		return in, nil
	}
	s.ExtPlain = s.Ext
	err = s.hello(ctx, PhaseEHLOTLS)
	if errors.As(err, new(*smtp.UnsolicitedError)) && in.Answered.Code == 0 {
		in.Late = true
	}
	if err != nil || in.Answered.Code != 0 {
		return in, err
	}
	// The server answers in order: a NOOP it ran comes before the EHLO's
	// reply, so a reply after the EHLO's is the EHLO's own.
	err = s.timed(ctx, PhaseEHLOTLS, func() error {
		var err error
		in.Extra, err = s.readWithin(ctx, wait-wait/4)
		return err
	})
	if in.Extra.Code != 0 {
		in.Late = true
	}
	if err != nil {
		return in, fail(ctx, PhaseEHLOTLS, err)
	}
	return in, nil
}

// readWithin reads a reply nobody asked for, waiting at most d: a zero
// reply and no error when none came.
func (s *Session) readWithin(ctx context.Context, d time.Duration) (smtp.Reply, error) {
	nc := s.conn.NetConn()
	_ = nc.SetReadDeadline(time.Now().Add(d))
	rep, err := s.conn.ReadReply()
	restore := time.Time{}
	if dl, ok := ctx.Deadline(); ok {
		restore = dl
	}
	_ = nc.SetReadDeadline(restore)
	if err != nil && rep.Code == 0 && Classify(err) == KindTimeout && ctx.Err() == nil {
		return smtp.Reply{}, nil // silence: the NOOP was discarded
	}
	return rep, err
}
