package store

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

	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// maxTokenResponse bounds what is read from a token endpoint.
const maxTokenResponse = 1 << 20

// fetchToken runs the OAuth 2 client-credentials grant (RFC 6749 §4.4) with
// the client authenticated in the body, as Microsoft Entra ID, Google and
// Keycloak accept. It returns the access token and a line for the
// transcript. Client id and secret are references, read here.
func (o opts) fetchToken(ctx context.Context, g *secret.OAuth) ([]string, error) {
	id, err := o.resolve(ctx, "--oauth-client-id-ref", g.ClientIDRef)
	if err != nil {
		return nil, err
	}
	sec, err := o.resolve(ctx, "--oauth-client-secret-ref", g.ClientSecretRef)
	if err != nil {
		return nil, err
	}
	var scrub redact.Set
	scrub.Add(sec)
	// Only what came from outside (errors, the endpoint's answer) is
	// scrubbed: scrubbing our own words would show which word is the secret.
	fail := func(format string, args ...any) error {
		for i, a := range args {
			switch a := a.(type) {
			case string:
				args[i] = scrub.Scrub(a)
			case error:
				args[i] = scrub.Scrub(a.Error())
			}
		}
		return secret.Fail("oauth", "token endpoint "+g.TokenURL+fmt.Sprintf(format, args...), nil)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {sec}}
	if g.Scope != "" {
		form.Set("scope", g.Scope)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fail(": %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := tokenClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, secret.Fail("oauth", "token endpoint "+g.TokenURL+": "+secret.CtxMsg(ctx, ctx.Err()), ctx.Err())
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named already; the form is never in it
		}
		return nil, fail(": %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, fail(": reading the answer: %v", err)
	}
	var tok struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &tok)
	scrub.Add(tok.AccessToken)
	switch {
	case tok.Error != "":
		msg := tok.Error
		if tok.Description != "" {
			msg += ": " + firstLine(scrub.Scrub(tok.Description), 160) // scrubbed before the cut
		}
		return nil, fail(" refused (HTTP %d): %s", resp.StatusCode, msg)
	case resp.StatusCode/100 != 2:
		return nil, fail(": answered HTTP %d", resp.StatusCode)
	case jerr != nil:
		return nil, fail(": the answer is not JSON")
	case tok.AccessToken == "":
		return nil, fail(": no access_token in the answer")
	case tok.TokenType != "" && !strings.EqualFold(tok.TokenType, "bearer"):
		return nil, fail(": token_type %q, want Bearer", tok.TokenType)
	}
	note := fmt.Sprintf("OAuth token endpoint %s answered HTTP %d in %.3f s", g.TokenURL, resp.StatusCode, time.Since(start).Seconds())
	return []string{tok.AccessToken, note}, nil
}

// resolve reads a client id or secret reference of any kind, naming the
// flag it came from.
func (o opts) resolve(ctx context.Context, flag, ref string) (string, error) {
	v, err := o.Resolve(ctx, ref)
	return v, secret.WithFlag(flag, err)
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
