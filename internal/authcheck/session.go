package authcheck

import (
	"context"
	"slices"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// refusal is why the credentials were not sent.
type refusal int

const (
	refuseNone       refusal = iota
	refuseNoStartTLS         // STARTTLS wanted but not offered
	refuseNoTLS              // --no-tls without --allow-plaintext
	refuseUnverified         // TLS whose certificate does not verify
)

// facts is everything one run showed; judge turns it into findings.
type facts struct {
	S          *probe.Session
	Tr         *smtp.Transcript
	User       string
	CredErr    error        // the credentials could not be obtained
	Err        *probe.Error // what ended the session before AUTH
	NoStartTLS bool         // STARTTLS wanted, not offered; went on in plaintext
	Refused    refusal
	Offered    []string // AUTH mechanisms offered
	Mech       string   // the mechanism used or asked for
	NotOffered bool     // Mech is not among Offered
	AuthRan    bool
	AuthReply  smtp.Reply
	AuthErr    *probe.Error
	Outcome    sasl.Outcome
	QuitErr    *probe.Error
	Total      time.Duration
}

// Check runs check_smtp_auth with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	r := &plugin.Result{Service: Service}
	o.judge(o.run(ctx), r)
	return r
}

// run gets the credentials, opens the session, and logs in if it is safe to.
func (o *Options) run(ctx context.Context) *facts {
	start := time.Now()
	f := &facts{Tr: smtp.NewTranscript(), Mech: o.mech}
	defer func() { f.Total = time.Since(start) }()

	creds, err := o.credentials(ctx, f.Tr)
	f.User = creds.User
	if err != nil {
		f.CredErr = err
		return f
	}
	s, err := probe.Dial(ctx, o.target(), f.Tr)
	f.S = s
	if err != nil {
		f.Err = probe.AsError(err)
		return f
	}
	defer s.Close()
	if f.Err = o.session(ctx, s, f, creds); f.Err != nil {
		if f.Err.Kind == probe.KindReply { // the server still listens: say goodbye
			_, _ = s.Quit(ctx, false)
		}
		return f
	}
	if _, err := s.Quit(ctx, true); err != nil {
		f.QuitErr = probe.AsError(err)
	}
	return f
}

func (o *Options) session(ctx context.Context, s *probe.Session, f *facts, creds sasl.Credentials) *probe.Error {
	var err error
	if f.NoStartTLS, err = s.Establish(ctx); err != nil {
		return probe.AsError(err)
	}
	f.Offered = s.Ext.AuthMechanisms()
	switch {
	case !s.Encrypted() && !o.AllowPlaintext && f.NoStartTLS:
		f.Refused = refuseNoStartTLS
	case !s.Encrypted() && !o.AllowPlaintext:
		f.Refused = refuseNoTLS
	case s.Encrypted() && s.VerifyErr != nil && !o.Insecure:
		f.Refused = refuseUnverified
	}
	if f.Refused != refuseNone {
		return nil
	}
	f.Mech = o.pick(f.Offered, creds)
	if f.Mech == "" || !slices.Contains(f.Offered, f.Mech) {
		f.NotOffered = true
		return nil
	}
	client, err := sasl.New(f.Mech, creds)
	if err != nil { // SCRAM's SASLprep refused the password
		f.CredErr = &credError{"secret", err}
		return nil
	}
	f.AuthRan = true
	f.AuthReply, err = s.Auth(ctx, client) // the wire registers what it sends
	f.Outcome = client.Outcome()
	// Server text decoded from a challenge: scrubbed as its replies are,
	// then shortened (in that order, so no cut shows half a secret).
	f.Outcome.ServerError = plugin.Sanitize(f.Tr.Scrub(f.Outcome.ServerError), plugin.MaxTextLen)
	if err != nil {
		f.AuthErr = probe.AsError(err)
		switch f.AuthErr.Kind {
		case probe.KindReply, probe.KindProtocol, probe.KindOther:
			return nil // the exchange ended in step: carry on to QUIT
		}
		return f.AuthErr
	}
	return nil
}

// pick chooses the mechanism: the one asked for, or with auto the strongest
// offered for the kind of credential held ("" when none fits).
func (o *Options) pick(offered []string, c sasl.Credentials) string {
	if o.mech != "AUTO" {
		return o.mech
	}
	prefs := sasl.PasswordMechs
	if c.Token != "" {
		prefs = sasl.TokenMechs
		if c.User == "" {
			prefs = []string{sasl.OAuthBearer} // XOAUTH2 needs a user
		}
	}
	return sasl.Choose(offered, prefs)
}
