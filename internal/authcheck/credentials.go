package authcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// credError is a failure to obtain credentials: the check could not run.
type credError struct {
	What string // "secret", "oauth"
	Err  error
}

func (e *credError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *credError) Unwrap() error { return e.Err }

// credentials resolves the references. Every secret is registered with the
// transcript as soon as it is known, before anything is sent anywhere.
func (o *Options) credentials(ctx context.Context, tr *smtp.Transcript) (sasl.Credentials, error) {
	c := sasl.Credentials{User: o.user, Host: o.Host, Port: o.Port}
	tr.AddSecret(o.AuthPass) // a literal -P: redact it too
	switch {
	case o.passOnArgv:
		c.Password = o.AuthPass
	case o.PasswordRef != "":
		// vault:MOUNT/PATH without #FIELD yields the user as well
		user, pass, err := o.ResolveLogin(ctx, o.PasswordRef)
		tr.AddSecret(pass)
		if err != nil {
			return c, &credError{"secret", fmt.Errorf("--password-ref: %w", err)}
		}
		if c.User == "" {
			c.User = user
		}
		c.Password = pass
	case o.TokenRef != "":
		tok, err := o.Resolve(ctx, o.TokenRef)
		tr.AddSecret(tok)
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

// causeErr is a message of our own wording that still unwraps to its cause.
type causeErr struct {
	msg   string
	cause error
}

func (e *causeErr) Error() string { return e.msg }
func (e *causeErr) Unwrap() error { return e.cause }

// maxTokenResponse bounds what is read from a token endpoint.
const maxTokenResponse = 1 << 20

// fetchToken runs the OAuth 2 client-credentials grant (RFC 6749 §4.4) with
// the client authenticated in the body, as Microsoft Entra ID, Google and
// Keycloak accept. It runs under the check's one deadline.
func (o *Options) fetchToken(ctx context.Context, tr *smtp.Transcript) (string, error) {
	id, err := o.Resolve(ctx, o.OAuthClientIDRef)
	if err != nil {
		return "", &credError{"secret", fmt.Errorf("--oauth-client-id-ref: %w", err)}
	}
	sec, err := o.Resolve(ctx, o.OAuthClientSecretRef)
	tr.AddSecret(sec)
	if err != nil {
		return "", &credError{"secret", fmt.Errorf("--oauth-client-secret-ref: %w", err)}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}}
	if o.OAuthScope != "" {
		form.Set("scope", o.OAuthScope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.OAuthTokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", &credError{"oauth", err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := tokenClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named below; the form is never in it
		}
		msg := fmt.Sprintf("token endpoint %s: %s", o.OAuthTokenURL, tr.Scrub(err.Error()))
		if ctx.Err() != nil {
			msg = fmt.Sprintf("token endpoint %s: no answer within the %s s timeout", o.OAuthTokenURL, probe.Secs(o.Timeout.Duration))
		}
		return "", &credError{"oauth", &causeErr{msg, err}}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return "", &credError{"oauth", fmt.Errorf("token endpoint %s: reading the answer: %s", o.OAuthTokenURL, tr.Scrub(err.Error()))}
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &tok)
	tr.AddSecret(tok.AccessToken)
	tr.Note(fmt.Sprintf("OAuth token endpoint %s answered HTTP %d in %.3f s", o.OAuthTokenURL, resp.StatusCode, time.Since(start).Seconds()))
	switch {
	case tok.Error != "":
		msg := tok.Error
		if tok.Description != "" {
			msg += ": " + firstLine(tok.Description, 160)
		}
		return "", &credError{"oauth", fmt.Errorf("token endpoint %s refused (HTTP %d): %s", o.OAuthTokenURL, resp.StatusCode, tr.Scrub(msg))}
	case resp.StatusCode/100 != 2:
		return "", &credError{"oauth", fmt.Errorf("token endpoint %s: answered HTTP %d", o.OAuthTokenURL, resp.StatusCode)}
	case jerr != nil:
		return "", &credError{"oauth", fmt.Errorf("token endpoint %s: the answer is not JSON", o.OAuthTokenURL)}
	case tok.AccessToken == "":
		return "", &credError{"oauth", fmt.Errorf("token endpoint %s: no access_token in the answer", o.OAuthTokenURL)}
	case tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "bearer"):
		return "", &credError{"oauth", fmt.Errorf("token endpoint %s: token_type %q, want Bearer", o.OAuthTokenURL, tok.TokenType)}
	}
	return tok.AccessToken, nil
}

// tokenClient is a one-shot HTTP client: no keep-alive (nothing lingers
// after the run), no redirects (the client secret goes to the URL given and
// nowhere else), proxies from the environment as usual.
func tokenClient() *http.Client {
	tp := http.DefaultTransport.(*http.Transport).Clone()
	tp.DisableKeepAlives = true
	return &http.Client{
		Transport:     tp,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > n {
		s = s[:n] + "..."
	}
	return s
}
