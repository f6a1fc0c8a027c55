package conncheck

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// step is one command of the transaction and its reply.
type step struct {
	Phase probe.Phase
	Line  string // the command as shown
	Reply smtp.Reply
	Index int // -C position, for -R
}

// facts is everything one session showed; judge turns it into findings.
type facts struct {
	S          *probe.Session
	Err        *probe.Error // what ended the session early; nil if it reached QUIT
	NoStartTLS bool
	AuthSkip   string // why AUTH was not attempted
	Unverified bool   // AUTH not attempted: the certificate does not verify
	Stripped   bool   // AUTH not attempted: -S, but STARTTLS not offered
	AuthErr    *probe.Error
	InMail     bool // MAIL was accepted: a transaction is open
	Steps      []step
	InData     bool // a -C was answered with 354: the server reads a message now
	QuitReply  smtp.Reply
	QuitErr    *probe.Error
	Total      time.Duration
}

// target builds the probe target for host, or for a known address of it.
func (o *Options) target(host string, addr netip.Addr, res *net.Resolver) probe.Target {
	t := probe.Target{
		Host: host, Port: o.Port, Addr: addr, Network: o.Network(),
		HeloName: o.HeloName(), LMTP: o.LMTP, Proxy: o.ProxyVersion, Resolver: res,
	}
	o.ApplyTo(&t)
	return t
}

// run drives one session through the steps the options ask for. It stops at
// the first error that leaves the connection unusable.
func (o *Options) run(ctx context.Context, t probe.Target) *facts {
	start := time.Now()
	tr := smtp.NewTranscript() // AUTH registers the password it sends
	f := &facts{}
	defer func() { f.Total = time.Since(start) }()

	s, err := probe.Dial(ctx, t, tr)
	f.S = s
	if err != nil {
		f.Err = probe.AsError(err)
		return f
	}
	defer s.Close()
	if f.Err = o.session(ctx, s, f); f.Err != nil {
		if f.Err.Kind == probe.KindReply { // the server still listens: say goodbye
			_, _ = s.Quit(ctx, false)
		}
		return f
	}
	if f.InData { // QUIT, or RSET, would be text of the message: just hang up
		return f
	}
	if f.QuitReply, err = s.Quit(ctx, !o.IgnoreQuit); err != nil && !o.IgnoreQuit {
		f.QuitErr = probe.AsError(err)
	}
	return f
}

func (o *Options) session(ctx context.Context, s *probe.Session, f *facts) *probe.Error {
	var err error
	if f.NoStartTLS, err = s.Establish(ctx); err != nil {
		return probe.AsError(err)
	}
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
		if err != nil {
			return probe.AsError(err)
		}
		f.Steps = append(f.Steps, step{Phase: probe.PhaseCommand, Line: c, Reply: rep, Index: i})
		if f.InData = rep.Code == 354; f.InData { // RFC 5321 §4.1.1.4: all that follows is the message
			return nil
		}
	}
	if f.InMail {
		// RSET closes the transaction so that QUIT never looks like an abort;
		// its reply is judged as a step.
		rep, err := s.Cmd(ctx, probe.PhaseRset, "RSET")
		if err != nil {
			return probe.AsError(err)
		}
		f.Steps = append(f.Steps, step{Phase: probe.PhaseRset, Line: "RSET", Reply: rep})
	}
	return nil
}

func (o *Options) auth(ctx context.Context, s *probe.Session, f *facts) *probe.Error {
	switch {
	case f.NoStartTLS && !o.AllowPlaintext:
		// -S asked for TLS: a server without it, or a man in the middle who
		// stripped it from the EHLO reply, is the fault, not our options.
		f.Stripped = true
		return nil
	case !s.Encrypted() && !o.AllowPlaintext:
		f.AuthSkip = "refused to send the password unencrypted: add -S (STARTTLS) or -s, or --allow-plaintext"
		return nil
	case s.Encrypted() && s.VerifyErr != nil && !o.Insecure:
		// check_smtp sends them anyway; whoever is in the middle would get them.
		f.Unverified = true
		return nil
	case !hasMech(s.Ext, o.AuthType):
		f.AuthSkip = "server does not offer AUTH " + o.AuthType
		return nil
	}
	var c smtp.SASLClient = &smtp.LoginClient{User: o.AuthUser, Password: o.AuthPass}
	if o.AuthType == "PLAIN" {
		c = &smtp.PlainClient{User: o.AuthUser, Password: o.AuthPass}
	}
	_, err := s.Auth(ctx, c)
	if err == nil {
		return nil
	}
	f.AuthErr = probe.AsError(err)
	if inStep(f.AuthErr) {
		return nil // the session is still usable: carry on to QUIT
	}
	return f.AuthErr
}

// inStep reports whether the session can go on after e: the server answered
// in turn, and neither said that it is closing (421) nor sent more than it
// was asked (the rest would be read as the next command's reply).
func inStep(e *probe.Error) bool {
	switch e.Kind {
	case probe.KindReply:
		return e.Reply == nil || e.Reply.Code != 421
	case probe.KindProtocol:
		return !errors.As(e, new(*smtp.UnsolicitedError))
	}
	return false
}

func hasMech(ext smtp.Extensions, mech string) bool {
	for _, m := range ext.AuthMechanisms() {
		if m == mech {
			return true
		}
	}
	return false
}

func (o *Options) transact(ctx context.Context, s *probe.Session, f *facts) *probe.Error {
	line := "MAIL FROM:<" + o.mailFrom + ">"
	rep, err := s.Cmd(ctx, probe.PhaseMail, line)
	if err != nil {
		return probe.AsError(err)
	}
	st := step{Phase: probe.PhaseMail, Line: line, Reply: rep}
	f.Steps = append(f.Steps, st)
	if f.InMail = st.accepted(); !f.InMail {
		return nil // no transaction: RCPT would only be refused, RSET too
	}
	for _, r := range o.Rcpt {
		line := "RCPT TO:<" + stripAngle(r) + ">"
		rep, err := s.Cmd(ctx, probe.PhaseRcpt, line)
		if err != nil {
			return probe.AsError(err)
		}
		f.Steps = append(f.Steps, step{Phase: probe.PhaseRcpt, Line: line, Reply: rep})
	}
	return nil
}

func stripAngle(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}
