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

// Refusal is why the credentials were not sent.
type Refusal int

const (
	RefuseNone       Refusal = iota
	RefuseNoStartTLS         // STARTTLS wanted but not offered
	RefuseNoTLS              // --no-tls without --allow-plaintext
	RefuseUnverified         // TLS whose certificate does not verify (S.VerifyErr says why)
)

// Facts is everything one run of check_smtp_auth showed, as data.
type Facts struct {
	// The session: S is nil when the credentials could not be had (then
	// only Total is set), and Err is also AuthErr when AUTH ended it.
	probe.Outcome
	Tr         *smtp.Transcript // the run's transcript, the token endpoint's note included
	User       string
	CredErr    error // the credentials could not be obtained
	Refused    Refusal
	Offered    []string // AUTH mechanisms offered
	Mech       string   // the mechanism used or asked for
	NotOffered bool     // Mech is not among Offered
	AuthRan    bool
	AuthReply  smtp.Reply
	AuthErr    *probe.Error
	SASL       sasl.Outcome
}

// Check runs check_smtp_auth with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	return o.Judge(Gather(ctx, o), time.Now())
}

// Gather gets the credentials (their time counts in Total), opens the
// session, and logs in if it is safe to.
func Gather(ctx context.Context, o *Options) *Facts {
	start := time.Now()
	f := &Facts{Tr: smtp.NewTranscript(), Mech: o.mech}
	creds, err := o.credentials(ctx, f.Tr)
	f.User = creds.User
	if err != nil {
		f.CredErr, f.Total = err, time.Since(start)
		return f
	}
	f.Outcome = probe.Run(ctx, probe.Plan{Target: o.target(), Transcript: f.Tr, Start: start,
		Steps: func(ctx context.Context, s *probe.Session) error { return o.login(ctx, s, f, creds) }})
	return f
}

// login decides whether the credentials may be sent and sends them. A
// refusal, or a failed AUTH after which the server still listens in turn,
// ends in a polite QUIT.
func (o *Options) login(ctx context.Context, s *probe.Session, f *Facts, creds sasl.Credentials) error {
	f.Offered = s.Ext.AuthMechanisms()
	switch {
	case !s.Encrypted() && !o.AllowPlaintext && s.NoStartTLS:
		f.Refused = RefuseNoStartTLS
	case !s.Encrypted() && !o.AllowPlaintext:
		f.Refused = RefuseNoTLS
	case s.Encrypted() && s.VerifyErr != nil && !o.Insecure:
		f.Refused = RefuseUnverified
	}
	if f.Refused != RefuseNone {
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
	f.SASL = client.Outcome()
	// Server text decoded from a challenge: scrubbed as its replies are,
	// then shortened (in that order, so no cut shows half a secret).
	f.SASL.ServerError = plugin.Sanitize(f.Tr.Scrub(f.SASL.ServerError), plugin.MaxTextLen)
	if err == nil {
		return nil
	}
	if f.AuthErr = probe.AsError(err); probe.InStep(f.AuthErr) {
		return nil
	}
	return f.AuthErr
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
