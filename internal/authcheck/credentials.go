package authcheck

import (
	"context"
	"errors"
	"fmt"

	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// credError is a failure to obtain credentials: the check could not run.
type credError struct {
	What string // "secret", or "" when Err names its source itself
	Err  error
}

func (e *credError) Error() string {
	if e.What == "" {
		return e.Err.Error()
	}
	return e.What + ": " + e.Err.Error()
}
func (e *credError) Unwrap() error { return e.Err }

// credentials resolves the references. The secrets are registered with the
// transcript by the wire, when AUTH sends them (smtp.Conn.Auth): text the
// server sent before cannot echo them.
func (o *Options) credentials(ctx context.Context, tr *smtp.Transcript) (sasl.Credentials, error) {
	c := sasl.Credentials{User: o.user, Host: o.Host, Port: o.Port}
	switch {
	case o.literalPass:
		c.Password = o.AuthPass
	case o.PasswordRef != "":
		// vault:MOUNT/PATH without #FIELD yields the user as well
		user, pass, err := o.ResolveLogin(ctx, o.PasswordRef)
		if err != nil {
			return c, &credError{"secret", fmt.Errorf("--password-ref: %w", err)}
		}
		if c.User == "" {
			c.User = user
		}
		c.Password = pass
	case o.TokenRef != "":
		tok, err := o.Resolve(ctx, o.TokenRef)
		if err != nil {
			return c, &credError{"secret", fmt.Errorf("--token-ref: %w", err)}
		}
		c.Token = tok
	case o.OAuthTokenURL != "":
		tok, err := o.fetchToken(ctx, tr)
		if err != nil {
			return c, err
		}
		c.Token = tok
	}
	if c.Password == "" && c.Token == "" {
		return c, &credError{"secret", errors.New("the credential reference resolved to an empty value")}
	}
	if c.User == "" && !(o.useToken && (o.mech == "AUTO" || o.mech == sasl.OAuthBearer)) {
		return c, &credError{"secret", errors.New("no user: give --user (the reference held none)")}
	}
	return c, nil
}

// fetchToken gets an access token from the token endpoint; the helper
// reads the client id and secret and talks to the endpoint.
func (o *Options) fetchToken(ctx context.Context, tr *smtp.Transcript) (string, error) {
	tok, note, err := o.FetchToken(ctx, secret.OAuth{TokenURL: o.OAuthTokenURL, Scope: o.OAuthScope,
		ClientIDRef: o.OAuthClientIDRef, ClientSecretRef: o.OAuthClientSecretRef})
	var se *secret.Error
	switch {
	case errors.As(err, &se) && se.Scheme == "oauth":
		return "", &credError{"", err} // "oauth: token endpoint ..."
	case err != nil:
		return "", &credError{"secret", err}
	}
	tr.Note(note)
	return tok, nil
}
