// Package sasl holds the SASL mechanism clients check_smtp_auth speaks, each
// fitting smtp.SASLClient (go-sasl's Client interface): PLAIN and LOGIN from
// go-sasl and internal/smtp, CRAM-MD5 (RFC 2195), SCRAM-SHA-1/-256 (RFC 5802,
// RFC 7677, via xdg-go/scram) with the server signature verified, XOAUTH2
// (Google/Microsoft) and OAUTHBEARER (RFC 7628, via go-sasl).
//
// Why own adapters: go-sasl has no CRAM-MD5, SCRAM or XOAUTH2 client, and its
// OAUTHBEARER client aborts on an error challenge instead of sending the
// dummy response RFC 7628 §3.2.3 asks for, which leaves the server's final
// 5xx reply unread.
package sasl

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	gosasl "github.com/emersion/go-sasl"
	"github.com/xdg-go/scram"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Mechanism names.
const (
	Plain       = "PLAIN"
	Login       = "LOGIN"
	CRAMMD5     = "CRAM-MD5"
	SCRAMSHA1   = "SCRAM-SHA-1"
	SCRAMSHA256 = "SCRAM-SHA-256"
	XOAuth2     = "XOAUTH2"
	OAuthBearer = "OAUTHBEARER"
)

// PasswordMechs are the mechanisms that take a password, strongest first:
// the order --mech auto prefers.
var PasswordMechs = []string{SCRAMSHA256, SCRAMSHA1, CRAMMD5, Plain, Login}

// TokenMechs take an OAuth 2 access token, in the order auto prefers them:
// XOAUTH2 first, since Microsoft 365 offers only it and Google both.
var TokenMechs = []string{XOAuth2, OAuthBearer}

// Known reports whether mech is one this package speaks.
func Known(mech string) bool {
	return slices.Contains(PasswordMechs, mech) || slices.Contains(TokenMechs, mech)
}

// IsToken reports whether mech takes a token rather than a password.
func IsToken(mech string) bool { return slices.Contains(TokenMechs, mech) }

// Choose picks the first of prefs that the server offers; "" if none.
func Choose(offered, prefs []string) string {
	for _, m := range prefs {
		if slices.Contains(offered, m) {
			return m
		}
	}
	return ""
}

// Credentials are what a mechanism needs. Token is an OAuth access token.
type Credentials struct {
	User, Password, Token string
	Host                  string // for OAUTHBEARER's host= field; optional
	Port                  int
}

// Client is a mechanism client with what it learnt during the exchange.
type Client interface {
	smtp.SASLClient
	// Outcome says what the exchange showed beyond the final reply: a
	// server error message inside the SASL exchange, and for SCRAM whether
	// the server proved that it knows the password.
	Outcome() Outcome
}

// Outcome is what a mechanism saw besides the SMTP replies.
type Outcome struct {
	ServerError    string // e.g. SCRAM "e=invalid-proof", XOAUTH2/OAUTHBEARER JSON status; server text, not scrubbed nor shortened
	MutualAuth     bool   // the mechanism authenticates the server too (SCRAM)
	ServerVerified bool   // the server's signature was checked and matched
}

// New builds the client for mech.
func New(mech string, c Credentials) (Client, error) {
	switch mech {
	case Plain:
		return &wrapped{SASLClient: &smtp.PlainClient{User: c.User, Password: c.Password}}, nil
	case Login:
		return &wrapped{SASLClient: &smtp.LoginClient{User: c.User, Password: c.Password}}, nil
	case CRAMMD5:
		return &CRAMMD5Client{User: c.User, Password: c.Password}, nil
	case SCRAMSHA1:
		return NewSCRAM(scram.SHA1, mech, c.User, c.Password, nil)
	case SCRAMSHA256:
		return NewSCRAM(scram.SHA256, mech, c.User, c.Password, nil)
	case XOAuth2:
		return &XOAuth2Client{User: c.User, Token: c.Token}, nil
	case OAuthBearer:
		return &OAuthBearerClient{token: c.Token, inner: gosasl.NewOAuthBearerClient(&gosasl.OAuthBearerOptions{
			Username: c.User, Token: c.Token, Host: c.Host, Port: c.Port})}, nil
	}
	return nil, fmt.Errorf("unknown SASL mechanism %q", mech)
}

// wrapped adds an empty Outcome to a client that learns nothing.
type wrapped struct{ smtp.SASLClient }

func (w *wrapped) Outcome() Outcome { return Outcome{} }

// PublicResponse passes on what the wrapped client says (LOGIN's user name).
func (w *wrapped) PublicResponse() bool {
	p, ok := w.SASLClient.(smtp.PublicResponder)
	return ok && p.PublicResponse()
}

// Unfinished passes on what the wrapped client says (LOGIN before the password).
func (w *wrapped) Unfinished() string {
	if f, ok := w.SASLClient.(smtp.Finisher); ok {
		return f.Unfinished()
	}
	return ""
}

// Secrets passes on the wrapped client's secrets.
func (w *wrapped) Secrets() []string {
	if h, ok := w.SASLClient.(smtp.SecretHolder); ok {
		return h.Secrets()
	}
	return nil
}

// CRAMMD5Client is CRAM-MD5 (RFC 2195): the answer to the server's challenge
// is the user, a space and HMAC-MD5(password, challenge) in lower-case hex.
type CRAMMD5Client struct {
	User, Password string
	digest         string // sent, once answered
}

// Start begins CRAM-MD5; the server speaks first.
func (c *CRAMMD5Client) Start() (string, []byte, error) { return CRAMMD5, nil, nil }

// Next answers the one challenge.
func (c *CRAMMD5Client) Next(challenge []byte) ([]byte, error) {
	if c.digest != "" {
		return nil, errors.New("unexpected second CRAM-MD5 challenge")
	}
	c.digest = CRAMMD5Digest(c.Password, challenge)
	return []byte(c.User + " " + c.digest), nil
}

// Unfinished: a 235 counts only after the response to the challenge.
func (c *CRAMMD5Client) Unfinished() string {
	if c.digest == "" {
		return smtp.NotFinished("the server sent no challenge, so no CRAM-MD5 response was sent yet")
	}
	return ""
}

// Secrets are the password and the digest alone: with the challenge, which
// the server sent in the clear, it allows guessing the password offline.
func (c *CRAMMD5Client) Secrets() []string { return []string{c.Password, c.digest} }

// Outcome is empty: CRAM-MD5 does not authenticate the server.
func (c *CRAMMD5Client) Outcome() Outcome { return Outcome{} }

// CRAMMD5Digest is HMAC-MD5 of challenge keyed by password, in hex.
func CRAMMD5Digest(password string, challenge []byte) string {
	m := hmac.New(md5.New, []byte(password))
	m.Write(challenge)
	return hex.EncodeToString(m.Sum(nil))
}

// ErrServerSignature is a SCRAM server whose v= does not match: it does not
// know the password's keys, so it may not be the server it claims to be.
var ErrServerSignature = errors.New("the server's SCRAM signature does not verify")

// SCRAMClient adapts an xdg-go/scram conversation to smtp.SASLClient. The
// server-final message (v=...) arrives as a 334 challenge (RFC 4954 §4); it is
// verified and answered with an empty response.
type SCRAMClient struct {
	mech     string
	password string
	conv     *scram.ClientConversation
	step     int
	proof    string // the client proof sent (p=...)
	serveErr string
}

// NewSCRAM starts a SCRAM conversation; nonce, when not nil, replaces the
// random client nonce (for test vectors).
func NewSCRAM(h scram.HashGeneratorFcn, mech, user, password string, nonce func() string) (*SCRAMClient, error) {
	cl, err := h.NewClient(user, password, "")
	if err != nil {
		// SASLprep refused one of them; xdg-go's message is jargon (and
		// quotes the user name). Which one: the user name alone tells.
		what := "password"
		if _, uerr := h.NewClient(user, "", ""); uerr != nil {
			what = "user name"
		}
		return nil, fmt.Errorf("%s: the %s contains a character SCRAM does not allow (SASLprep, RFC 4013): use another mechanism with --mech, or change the %s", mech, what, what)
	}
	if nonce != nil {
		cl = cl.WithNonceGenerator(nonce)
	}
	return &SCRAMClient{mech: mech, password: password, conv: cl.NewConversation()}, nil
}

// Start sends client-first-message as the initial response.
func (s *SCRAMClient) Start() (string, []byte, error) {
	first, err := s.conv.Step("")
	return s.mech, []byte(first), err
}

// Next answers server-first with client-final, then checks server-final.
func (s *SCRAMClient) Next(challenge []byte) ([]byte, error) {
	s.step++
	msg := string(challenge)
	if s.step == 2 {
		if e, ok := strings.CutPrefix(msg, "e="); ok {
			// The server refuses inside SASL; answer empty so that its
			// final reply (a 535) comes back and is judged.
			s.serveErr = "e=" + e
			return []byte{}, nil
		}
		if _, err := s.conv.Step(msg); err != nil {
			return nil, ErrServerSignature
		}
		return []byte{}, nil
	}
	if s.step > 2 {
		return nil, fmt.Errorf("unexpected %s challenge after the server's final message", s.mech)
	}
	resp, err := s.conv.Step(msg)
	if err != nil {
		return nil, fmt.Errorf("%s: bad server-first-message: %w", s.mech, err)
	}
	_, s.proof, _ = strings.Cut(resp, ",p=")
	return []byte(resp), nil
}

// Secrets are the password and the client proof, which a server might
// quote apart from the client-final message that carries it.
func (s *SCRAMClient) Secrets() []string { return []string{s.password, s.proof} }

// Outcome reports whether the server proved it knows the password.
func (s *SCRAMClient) Outcome() Outcome {
	return Outcome{ServerError: s.serveErr, MutualAuth: true, ServerVerified: s.conv.Valid()}
}

// XOAuth2Client is Google's and Microsoft's XOAUTH2: the initial response is
// "user=" U "\x01auth=Bearer " T "\x01\x01". On failure the server sends a
// 334 with a JSON error; the client answers empty and reads the final reply.
type XOAuth2Client struct {
	User, Token string
	serveErr    string
	challenged  bool
}

// Start sends the whole credential as the initial response.
func (x *XOAuth2Client) Start() (string, []byte, error) {
	return XOAuth2, []byte("user=" + x.User + "\x01auth=Bearer " + x.Token + "\x01\x01"), nil
}

// Next records the error challenge and answers it empty.
func (x *XOAuth2Client) Next(challenge []byte) ([]byte, error) {
	x.serveErr = jsonError(challenge)
	x.challenged = true
	return []byte{}, nil
}

// Unfinished: every challenge to XOAUTH2 is an error.
func (x *XOAuth2Client) Unfinished() string { return afterError(x.challenged) }

// Secrets is the token.
func (x *XOAuth2Client) Secrets() []string { return []string{x.Token} }

// afterError is the Finisher's verdict for OAuth: the server's only
// challenge is an error, after which the exchange must fail (RFC 7628
// §3.2.2; Google and Microsoft say the same of XOAUTH2).
func afterError(challenged bool) string {
	if !challenged {
		return ""
	}
	return "the server sent an error challenge, after which it must refuse, not accept (RFC 7628 §3.2.2)"
}

// Outcome carries the server's JSON error status, if any.
func (x *XOAuth2Client) Outcome() Outcome { return Outcome{ServerError: x.serveErr} }

// OAuthBearerClient is go-sasl's OAUTHBEARER client, answering an error
// challenge with the %x01 dummy response of RFC 7628 §3.2.3.
type OAuthBearerClient struct {
	inner    gosasl.Client
	token    string
	serveErr string
	answered bool
}

// Start sends the GS2 header and bearer token as the initial response.
func (o *OAuthBearerClient) Start() (string, []byte, error) { return o.inner.Start() }

// PublicResponse: the one-byte dummy answer to an error carries no secret
// (registered, its base64 "AQ" would be cut out of any text).
func (o *OAuthBearerClient) PublicResponse() bool { return o.answered }

// Next records the server's error and sends the dummy response.
func (o *OAuthBearerClient) Next(challenge []byte) ([]byte, error) {
	o.answered = true
	_, err := o.inner.Next(challenge)
	var be *gosasl.OAuthBearerError
	if errors.As(err, &be) {
		o.serveErr = describeJSON(be.Status, be.Scope)
	} else {
		o.serveErr = jsonError(challenge)
	}
	return []byte{0x01}, nil
}

// Outcome carries the server's JSON error status, if any.
func (o *OAuthBearerClient) Outcome() Outcome { return Outcome{ServerError: o.serveErr} }

// Unfinished: every challenge to OAUTHBEARER is an error.
func (o *OAuthBearerClient) Unfinished() string { return afterError(o.answered) }

// Secrets is the token.
func (o *OAuthBearerClient) Secrets() []string { return []string{o.token} }

// jsonError summarises an OAuth error challenge: {"status":"401","schemes":
// "bearer","scope":"https://mail.google.com/"}.
func jsonError(b []byte) string {
	var e struct {
		Status string `json:"status"`
		Scope  string `json:"scope"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Status == "" {
		// Not cut here: the caller scrubs secrets out first, then shortens.
		return strings.TrimSpace(string(b))
	}
	return describeJSON(e.Status, e.Scope)
}

func describeJSON(status, scope string) string {
	s := "status " + status
	if scope != "" {
		s += ", scope " + scope
	}
	return s
}
