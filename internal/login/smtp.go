package login

import (
	"context"
	"slices"

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

// Withhold decides whether credentials may be sent on s: not without TLS
// unless allowPlaintext, not to a certificate that does not verify unless
// the target is --insecure.
func Withhold(s *probe.Session, allowPlaintext bool) Refusal {
	switch {
	case !s.Encrypted() && !allowPlaintext && s.NoStartTLS:
		return RefuseNoStartTLS
	case !s.Encrypted() && !allowPlaintext:
		return RefuseNoTLS
	case s.Encrypted() && s.VerifyErr != nil && !s.Target.Insecure:
		return RefuseUnverified
	}
	return RefuseNone
}

// Auth is what the login to an SMTP server showed, as data: a plugin's
// Facts embed it, its Judge words it.
type Auth struct {
	User       string   // the user logged in as ("" for a token that names none)
	CredErr    error    // the credentials could not be obtained, or SCRAM's SASLprep refused the password
	Refused    Refusal  // why the credentials were withheld
	Offered    []string // AUTH mechanisms offered
	Mech       string   // the mechanism used or asked for
	NotOffered bool     // Mech is not among Offered
	AuthRan    bool
	AuthReply  smtp.Reply
	AuthErr    *probe.Error
	SASL       sasl.Outcome
}

// SMTP is the AUTH step of a session: it decides whether creds may be
// sent, picks the mechanism and logs in, recording all in a. A refusal, or
// a failed AUTH after which the server still listens in turn, returns nil
// so that the session ends in a polite QUIT.
func (f *Flags) SMTP(ctx context.Context, s *probe.Session, creds sasl.Credentials, allowPlaintext bool, a *Auth) error {
	a.Offered = s.Ext.AuthMechanisms()
	if a.Refused = Withhold(s, allowPlaintext); a.Refused != RefuseNone {
		return nil
	}
	a.Mech = f.Pick(a.Offered, creds)
	if a.Mech == "" || !slices.Contains(a.Offered, a.Mech) {
		a.NotOffered = true
		return nil
	}
	client, err := sasl.New(a.Mech, creds)
	if err != nil { // SCRAM's SASLprep refused the password
		a.CredErr = &credError{"secret", err}
		return nil
	}
	a.AuthRan = true
	a.AuthReply, err = s.Auth(ctx, client) // the wire registers what it sends
	a.SASL = client.Outcome()
	// Server text decoded from a challenge: scrubbed as its replies are,
	// then shortened (in that order, so no cut shows half a secret).
	a.SASL.ServerError = plugin.Sanitize(s.Transcript.Scrub(a.SASL.ServerError), plugin.MaxTextLen)
	if err == nil {
		if perr := sasl.Proven(client); perr != nil {
			// Logged in, to a server that may not be the one it claims:
			// a failed login, the session still in step (QUIT follows).
			a.AuthErr = &probe.Error{Phase: probe.PhaseAuth, Err: perr}
		}
		return nil
	}
	if a.AuthErr = probe.AsError(err); probe.InStep(a.AuthErr) {
		return nil
	}
	return a.AuthErr
}
