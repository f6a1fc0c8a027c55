package authcheck

import (
	"context"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// RefuseNone is login.RefuseNone: the credentials could be sent.
const RefuseNone = login.RefuseNone

// Facts is everything one run of check_smtp_auth showed, as data.
type Facts struct {
	// The session: S is nil when the credentials could not be had (then
	// only Total is set), and Err is also AuthErr when AUTH ended it.
	probe.Outcome
	login.Auth
	Tr *smtp.Transcript // the run's transcript, the token endpoint's note included
}

// Check runs check_smtp_auth with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	return o.Judge(Gather(ctx, o), time.Now())
}

// Gather gets the credentials (their time counts in Total), opens the
// session, and logs in if it is safe to.
func Gather(ctx context.Context, o *Options) *Facts {
	start := time.Now()
	f := &Facts{Tr: smtp.NewTranscript(), Auth: login.Auth{Mech: o.Login.Asked()}}
	creds, err := o.Login.Credentials(ctx, &o.Options, f.Tr, o.Host, o.Port)
	f.User = creds.User
	if err != nil {
		f.CredErr, f.Total = err, time.Since(start)
		return f
	}
	f.Outcome = probe.Run(ctx, probe.Plan{Target: o.target(), Transcript: f.Tr, Start: start, Secrets: creds.Secrets(),
		Steps: func(ctx context.Context, s *probe.Session) error {
			return o.Login.SMTP(ctx, s, creds, o.AllowPlaintext, &f.Auth)
		}})
	return f
}
