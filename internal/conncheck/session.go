package conncheck

import (
	"context"
	"errors"
	"net/netip"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Step is one command of the transaction and its reply.
type Step struct {
	Phase probe.Phase
	Line  string // the command as shown
	Reply smtp.Reply
	Index int // -C position, for -R
}

// Withheld says why AUTH was not attempted.
type Withheld int

// Why AUTH was not attempted.
const (
	AuthTried      Withheld = iota // -A not given, or AUTH was sent
	AuthPlaintext                  // the session is not encrypted and --allow-plaintext was not given
	AuthNoStartTLS                 // STARTTLS was asked for but not offered
	AuthUnverified                 // the certificate does not verify (and no --insecure)
	AuthNoMech                     // the server does not offer -A's mechanism
)

// Facts is everything one run showed, as data. In --mx mode MX holds the
// lookup and each address's own Facts, and the embedded Outcome is empty.
type Facts struct {
	probe.Outcome // the session: S, Err, QuitReply, QuitErr, Total

	Withheld Withheld
	AuthErr  *probe.Error // AUTH failed; the session went on when probe.InStep
	InMail   bool         // MAIL was accepted: a transaction is open
	Steps    []Step       // MAIL, RCPT, -C and RSET with their replies
	InData   bool         // a -C was answered with 354: the session hung up

	MX *MX
}

// target builds the probe target for host, or for a known address of it.
func (o *Options) target(host string, addr netip.Addr, res probe.HostResolver) probe.Target {
	t := probe.Target{
		Host: host, Port: o.Port, Addr: addr, Network: o.Network(),
		HeloName: o.HeloName(), LMTP: o.LMTP, Proxy: o.ProxyVersion, Resolver: res,
	}
	o.ApplyTo(&t)
	return t
}

// gatherOne runs one session through the steps the options ask for.
func (o *Options) gatherOne(ctx context.Context, t probe.Target) *Facts {
	f := &Facts{}
	f.Outcome = probe.Run(ctx, probe.Plan{
		Target:     t,
		NoWaitQuit: o.IgnoreQuit,
		Secrets:    []string{o.AuthPass},
		Steps:      func(ctx context.Context, s *probe.Session) error { return o.steps(ctx, s, f) },
	})
	return f
}

// steps are AUTH, MAIL/RCPT, the -C commands and RSET; an error they
// return leaves the connection unusable.
func (o *Options) steps(ctx context.Context, s *probe.Session, f *Facts) error {
	if o.AuthType != "" {
		if err := o.auth(ctx, s, f); err != nil {
			return err
		}
	}
	if o.transaction {
		if err := o.transact(ctx, s, f); err != nil {
			return err
		}
	}
	for i, c := range o.Commands {
		rep, err := s.Cmd(ctx, probe.PhaseCommand, c)
		if rep.Code == 354 && (err == nil || errors.As(err, new(*smtp.UnsolicitedError))) {
			// RFC 5321 §4.1.1.4: all that follows is the message. QUIT, or
			// RSET, would be text of it: hang up. Whatever the server said
			// after its 354 changes nothing, however fast it came.
			f.Steps = append(f.Steps, Step{Phase: probe.PhaseCommand, Line: c, Reply: rep, Index: i})
			f.InData = true
			s.HangUp()
			return nil
		}
		if err != nil {
			return err
		}
		f.Steps = append(f.Steps, Step{Phase: probe.PhaseCommand, Line: c, Reply: rep, Index: i})
	}
	if f.InMail {
		// RSET closes the transaction so that QUIT never looks like an abort;
		// its reply is judged as a step.
		return f.cmd(ctx, s, probe.PhaseRset, "RSET", 0)
	}
	return nil
}

// cmd sends one command and records it as a step.
func (f *Facts) cmd(ctx context.Context, s *probe.Session, ph probe.Phase, line string, index int) error {
	rep, err := s.Cmd(ctx, ph, line)
	if err != nil {
		return err
	}
	f.Steps = append(f.Steps, Step{Phase: ph, Line: line, Reply: rep, Index: index})
	return nil
}

func (f *Facts) last() Step { return f.Steps[len(f.Steps)-1] }

func (o *Options) auth(ctx context.Context, s *probe.Session, f *Facts) error {
	switch {
	case s.NoStartTLS && !o.AllowPlaintext:
		// -S asked for TLS: a server without it, or a man in the middle who
		// stripped it from the EHLO reply, is the fault, not our options.
		f.Withheld = AuthNoStartTLS
	case !s.Encrypted() && !o.AllowPlaintext:
		f.Withheld = AuthPlaintext
	case s.Encrypted() && s.VerifyErr != nil && !o.Insecure:
		// check_smtp sends them anyway; whoever is in the middle would get them.
		f.Withheld = AuthUnverified
	case !hasMech(s.Ext, o.AuthType):
		f.Withheld = AuthNoMech
	}
	if f.Withheld != AuthTried {
		return nil
	}
	var c smtp.SASLClient = &smtp.LoginClient{User: o.AuthUser, Password: o.AuthPass}
	if o.AuthType == "PLAIN" {
		c = &smtp.PlainClient{User: o.AuthUser, Password: o.AuthPass}
	}
	if _, err := s.Auth(ctx, c); err != nil {
		if f.AuthErr = probe.AsError(err); !probe.InStep(f.AuthErr) {
			return f.AuthErr
		}
	}
	return nil // the session is still usable: carry on to QUIT
}

func hasMech(ext smtp.Extensions, mech string) bool {
	for _, m := range ext.AuthMechanisms() {
		if m == mech {
			return true
		}
	}
	return false
}

func (o *Options) transact(ctx context.Context, s *probe.Session, f *Facts) error {
	if err := f.cmd(ctx, s, probe.PhaseMail, "MAIL FROM:<"+o.mailFrom+">", 0); err != nil {
		return err
	}
	if f.InMail = f.last().accepted(); !f.InMail {
		return nil // no transaction: RCPT would only be refused, RSET too
	}
	for _, r := range o.Rcpt {
		if err := f.cmd(ctx, s, probe.PhaseRcpt, "RCPT TO:<"+stripAngle(r)+">", 0); err != nil {
			return err
		}
	}
	return nil
}

func stripAngle(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}
