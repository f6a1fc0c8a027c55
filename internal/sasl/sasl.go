// Package sasl holds the SASL mechanism clients check_smtp_auth speaks, each
// fitting smtp.SASLClient (go-sasl's Client interface): PLAIN and LOGIN from
// go-sasl and internal/smtp, CRAM-MD5 (RFC 2195), SCRAM-SHA-1/-256 (RFC 5802,
// RFC 7677, our own over internal/saslprep) with the server signature
// verified, XOAUTH2 (Google/Microsoft) and OAUTHBEARER (RFC 7628, via go-sasl).
//
// Why own clients: go-sasl has no CRAM-MD5, SCRAM or XOAUTH2 client, and its
// OAUTHBEARER client aborts on an error challenge instead of sending the
// dummy response RFC 7628 §3.2.3 asks for, which leaves the server's final
// 5xx reply unread.
package sasl

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"

	gosasl "github.com/emersion/go-sasl"

	"github.com/smtpcheck/smtpcheck/internal/saslprep"
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

// Secrets are the password and the token: what a server must never get
// into the output, even in a line it sends before AUTH.
func (c Credentials) Secrets() []string { return []string{c.Password, c.Token} }

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
		return NewSCRAM(sha1.New, mech, c.User, c.Password, nil)
	case SCRAMSHA256:
		return NewSCRAM(sha256.New, mech, c.User, c.Password, nil)
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

// ErrNoServerProof is a login that a mutual mechanism (SCRAM) saw succeed
// before the server's final message: the server never proved that it holds
// the password's keys.
var ErrNoServerProof = errors.New("the server accepted the login without proving that it knows the password (no SCRAM server signature): another server, or a man in the middle, may answer")

// Proven checks a login the server has just accepted: ErrNoServerProof
// where c is a mutual mechanism that never verified the server. Every
// plugin that logs in calls it, so that each judges the same fact alike.
func Proven(c Client) error {
	if o := c.Outcome(); o.MutualAuth && !o.ServerVerified {
		return ErrNoServerProof
	}
	return nil
}

// The iteration counts a SCRAM server may ask for. The floor is RFC 7677
// §4's 4096, which xdg-go/scram enforced too: fewer rounds would let a man
// in the middle make the client proof cheap to guess the password from. The
// ceiling stops a hostile server from burning -t on PBKDF2: 2^31 rounds are
// minutes of CPU. 1,000,000 is above what anyone configures (OWASP's 600,000
// for PBKDF2-HMAC-SHA256 is the highest advice; Dovecot, Cyrus SASL and
// PostgreSQL default to 4096) and costs about 0.2 s on a CPU with
// SHA extensions, a few seconds at worst on a small ARM board, where the
// watchdog still ends the run within -t.
const (
	scramMinIters = 4096
	scramMaxIters = 1_000_000
)

// SCRAMClient is SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) without
// channel binding. The server-final message (v=...) arrives as a 334
// challenge (RFC 4954 §4); it is verified and answered with an empty
// response.
//
// Why our own: xdg-go/scram links xdg-go/stringprep, whose package init
// builds RFC 3454's tables as maps on every start of every plugin that links
// it, SCRAM or not (issue 17). SASLprep lives in internal/saslprep.
type SCRAMClient struct {
	mech     string
	hash     func() hash.Hash
	user     string // SASLprepped
	password string // as given: a secret
	prepped  string // SASLprepped password
	nonce    string // ours, then the server's extension of it
	first    string // client-first-message-bare
	step     int
	proof    string // the client proof sent (p=...)
	serveSig []byte // the server signature expected in v=
	verified bool
	serveErr string
}

// NewSCRAM starts a SCRAM conversation with hash h (sha1.New, sha256.New);
// nonce, when not nil, replaces the random client nonce (for test vectors).
func NewSCRAM(h func() hash.Hash, mech, user, password string, nonce func() string) (*SCRAMClient, error) {
	refused := func(what string, err error) error {
		// The message names the credential in words, never its characters.
		if errors.Is(err, saslprep.ErrInvalidUTF8) {
			// Most likely a file saved in another encoding (Latin-1).
			return fmt.Errorf("%s: the %s is not valid UTF-8, which SCRAM requires (RFC 5802): store it as UTF-8, or use another mechanism with --mech", mech, what)
		}
		return fmt.Errorf("%s: the %s contains a character SCRAM does not allow (SASLprep, RFC 4013): use another mechanism with --mech, or change the %s", mech, what, what)
	}
	u, err := saslprep.Stored(user)
	if err != nil {
		return nil, refused("user name", err)
	}
	p, err := saslprep.Stored(password)
	if err != nil {
		return nil, refused("password", err)
	}
	c := &SCRAMClient{mech: mech, hash: h, user: u, password: password, prepped: p}
	if nonce != nil {
		c.nonce = nonce()
	} else if c.nonce, err = scramNonce(); err != nil {
		return nil, fmt.Errorf("%s: no random nonce: %w", mech, err)
	}
	return c, nil
}

// scramNonce is 24 random bytes in base64: printable, no comma.
func scramNonce() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Start sends client-first-message as the initial response: no channel
// binding, no authorization identity ("n,,"), and the user name with "="
// and "," escaped (RFC 5802 §5.1).
func (s *SCRAMClient) Start() (string, []byte, error) {
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s.user)
	s.first = "n=" + name + ",r=" + s.nonce
	return s.mech, []byte("n,," + s.first), nil
}

// Next answers server-first with client-final, then checks server-final.
func (s *SCRAMClient) Next(challenge []byte) ([]byte, error) {
	s.step++
	msg := string(challenge)
	switch {
	case s.step == 1:
		resp, err := s.final(msg)
		if err != nil {
			return nil, fmt.Errorf("%s: bad server-first-message: %w", s.mech, err)
		}
		return resp, nil
	case s.step == 2:
		if e, ok := strings.CutPrefix(msg, "e="); ok {
			// The server refuses inside SASL; answer empty so that its
			// final reply (a 535) comes back and is judged.
			s.serveErr = "e=" + e
			return []byte{}, nil
		}
		v, ok := strings.CutPrefix(msg, "v=")
		v, _, _ = strings.Cut(v, ",") // extensions may follow
		sig, err := base64.StdEncoding.DecodeString(v)
		if !ok || err != nil || subtle.ConstantTimeCompare(sig, s.serveSig) != 1 {
			return nil, ErrServerSignature
		}
		s.verified = true
		return []byte{}, nil
	}
	return nil, fmt.Errorf("unexpected %s challenge after the server's final message", s.mech)
}

// final parses server-first-message (RFC 5802 §7: [m=...,] r=, s=, i=,
// extensions) and computes client-final-message.
func (s *SCRAMClient) final(msg string) ([]byte, error) {
	if strings.HasPrefix(msg, "m=") {
		return nil, errors.New("the server demands an extension (m=) SCRAM clients do not know")
	}
	f := strings.SplitN(msg, ",", 4)
	if len(f) < 3 || !strings.HasPrefix(f[0], "r=") || !strings.HasPrefix(f[1], "s=") || !strings.HasPrefix(f[2], "i=") {
		return nil, errors.New("not r=nonce,s=salt,i=count")
	}
	nonce := f[0][2:]
	if len(nonce) <= len(s.nonce) || !strings.HasPrefix(nonce, s.nonce) || !printable(nonce) {
		return nil, errors.New("the server's nonce does not extend ours")
	}
	salt, err := base64.StdEncoding.DecodeString(f[1][2:])
	if err != nil {
		return nil, errors.New("the salt is not base64")
	}
	digits := f[2][2:]
	if digits == "" || strings.Trim(digits, "0123456789") != "" {
		return nil, errors.New("the iteration count is not a number")
	}
	iters, err := strconv.Atoi(digits)
	switch {
	case err != nil: // out of range: a number of absurd size
		return nil, fmt.Errorf("the server asks for %s iterations, more than the %d we compute", digits, scramMaxIters)
	case iters < scramMinIters:
		return nil, fmt.Errorf("the server asks for %d iterations, fewer than the %d RFC 7677 wants", iters, scramMinIters)
	case iters > scramMaxIters:
		return nil, fmt.Errorf("the server asks for %d iterations, more than the %d we compute", iters, scramMaxIters)
	}

	salted, err := pbkdf2.Key(s.hash, s.prepped, salt, iters, s.hash().Size())
	if err != nil {
		return nil, err
	}
	clientKey := s.hmac(salted, "Client Key")
	storedKey := s.hash()
	storedKey.Write(clientKey)
	withoutProof := "c=biws,r=" + nonce // biws: base64 of the GS2 header "n,,"
	authMsg := s.first + "," + msg + "," + withoutProof
	proof := s.hmac(storedKey.Sum(nil), authMsg)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.nonce = nonce
	s.serveSig = s.hmac(s.hmac(salted, "Server Key"), authMsg)
	s.proof = base64.StdEncoding.EncodeToString(proof)
	return []byte(withoutProof + ",p=" + s.proof), nil
}

func (s *SCRAMClient) hmac(key []byte, data string) []byte {
	m := hmac.New(s.hash, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// printable is RFC 5802's printable: %x21-2B / %x2D-7E, no comma.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7E || s[i] == ',' {
			return false
		}
	}
	return true
}

// Secrets are the password, as given and as SASLprep maps it (the form the
// keys derive from), and the client proof, which a server might quote apart
// from the client-final message that carries it.
func (s *SCRAMClient) Secrets() []string { return []string{s.password, s.prepped, s.proof} }

// Outcome reports whether the server proved it knows the password.
func (s *SCRAMClient) Outcome() Outcome {
	return Outcome{ServerError: s.serveErr, MutualAuth: true, ServerVerified: s.verified}
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
