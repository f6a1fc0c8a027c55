package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/secret"
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

// Noter keeps a remark for the verbose output (smtp.Transcript.Note): the
// token endpoint's note on the token it gave.
type Noter interface{ Note(text string) }

// Credentials resolves the references through store, for a login to
// host:port (OAUTHBEARER names them). The wire registers the secrets with
// the transcript when it sends them (smtp.Conn.Auth); before, a server can
// only show them if it knows them, and probe.Plan.Secrets covers that.
func (f *Flags) Credentials(ctx context.Context, store *secret.Options, notes Noter, host string, port int) (sasl.Credentials, error) {
	c := sasl.Credentials{User: f.User, Host: host, Port: port}
	switch {
	case f.Password != "":
		c.Password = f.Password
	case f.PasswordRef != "":
		// vault:MOUNT/PATH without #FIELD yields the user as well
		user, pass, err := store.ResolveLogin(ctx, f.PasswordRef)
		if err != nil {
			return c, &credError{"secret", fmt.Errorf("%s: %w", f.names.flag("password-ref"), err)}
		}
		if c.User == "" {
			c.User = user
		}
		c.Password = pass
	case f.TokenRef != "":
		tok, err := store.Resolve(ctx, f.TokenRef)
		if err != nil {
			return c, &credError{"secret", fmt.Errorf("%s: %w", f.names.flag("token-ref"), err)}
		}
		c.Token = tok
	case f.OAuthTokenURL != "":
		tok, err := f.fetchToken(ctx, store, notes)
		if err != nil {
			return c, err
		}
		c.Token = tok
	}
	if c.Password == "" && c.Token == "" {
		return c, &credError{"secret", errors.New("the credential reference resolved to an empty value")}
	}
	if c.User == "" && !(f.useToken && (f.mech == "AUTO" || f.mech == sasl.OAuthBearer)) {
		return c, &credError{"secret", fmt.Errorf("no user: give %s (the reference held none)", f.names.flag("user"))}
	}
	return c, nil
}

// fetchToken gets an access token from the token endpoint; the helper
// reads the client id and secret and talks to the endpoint.
func (f *Flags) fetchToken(ctx context.Context, store *secret.Options, notes Noter) (string, error) {
	tok, note, err := store.FetchToken(ctx, secret.OAuth{TokenURL: f.OAuthTokenURL, Scope: f.OAuthScope,
		ClientIDRef: f.OAuthClientIDRef, ClientSecretRef: f.OAuthClientSecretRef})
	var se *secret.Error
	switch {
	case errors.As(err, &se) && se.Scheme == "oauth":
		return "", &credError{"", err} // "oauth: token endpoint ..."
	case err != nil:
		return "", &credError{"secret", err}
	}
	notes.Note(note)
	return tok, nil
}

// Pick chooses the mechanism: the one asked for, or with auto the
// strongest of offered for the kind of credential held ("" when none fits).
func (f *Flags) Pick(offered []string, c sasl.Credentials) string {
	if f.mech != "AUTO" {
		return f.mech
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

// Asked is the mechanism asked for, upper-cased ("AUTO" for auto).
func (f *Flags) Asked() string { return f.mech }
