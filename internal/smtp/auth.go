package smtp

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SASLClient is one side of a SASL exchange; emersion/go-sasl's clients fit.
type SASLClient interface {
	Start() (mech string, ir []byte, err error)
	Next(challenge []byte) (response []byte, err error)
}

// maxAuthSteps bounds a server that keeps sending 334 challenges.
const maxAuthSteps = 10

// PublicResponder is a SASLClient some of whose responses carry no secret
// and must stay readable: LOGIN's user name, which messages name, or
// OAUTHBEARER's one-byte dummy. PublicResponse is asked right after Start
// or Next returned and reports whether that response is public.
type PublicResponder interface {
	PublicResponse() bool
}

// Finisher is a SASLClient that knows whether a 235 may end its exchange
// now. Unfinished is "" once the client has sent everything its mechanism
// needs (LOGIN: the password; CRAM-MD5: its response), else why a 235 is no
// login: a server that accepts before that has checked nothing.
type Finisher interface {
	Unfinished() string
}

// NotFinished is a Finisher's reason: "the exchange is not finished (why)".
func NotFinished(why string) string {
	return "the exchange is not finished (" + why + ")"
}

// SecretHolder is a SASLClient that names the secrets it holds in the forms
// a server could echo other than its responses (the password itself,
// CRAM-MD5's digest, SCRAM's proof). Auth registers them after Start and
// after each Next, before anything is sent.
type SecretHolder interface {
	Secrets() []string
}

// Auth runs AUTH with client. Every response that carries a secret (the
// initial response and the challenge responses, unless the client says
// they are public) and every secret the client names is registered with
// the transcript before it is sent, so that a server echoing one back, in a
// 334 challenge or its final text, cannot get it into any output;
// everything the client sends is recorded as <redacted>. They are
// registered here, not before the session: a secret is not yet known to a
// server that has not been sent it, and redacting its banner would tell the
// password. Only 235 ends the exchange successfully (RFC 4954 §4), and only
// once the client is finished (Finisher): a 4xx or 5xx final reply is a
// *ReplyError, any other code a *ProtocolError.
func (c *Conn) Auth(client SASLClient) (Reply, error) {
	mech, ir, err := client.Start()
	if err != nil {
		return Reply{}, err
	}
	c.register(client, ir)
	cmd := "AUTH " + mech
	line, shown := cmd, cmd
	if ir != nil {
		line += " " + encodeIR(ir)
		shown += " " + Redacted
	}
	rep, err := c.authStep(line, shown)
	for step := 0; err == nil && rep.Code == 334; step++ {
		if step == maxAuthSteps {
			c.cancelAuth()
			return c.scrubbed(rep), &ProtocolError{Reason: fmt.Sprintf("server sent more than %d AUTH challenges", maxAuthSteps)}
		}
		// Decoded as sent; a client error quoting it is scrubbed below.
		challenge, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(rep.Text()))
		if derr != nil {
			c.cancelAuth()
			return c.scrubbed(rep), malformed("AUTH challenge is not base64", c.tr.Scrub(rep.Text()))
		}
		resp, nerr := client.Next(challenge)
		if nerr != nil {
			c.cancelAuth()
			return c.scrubbed(rep), c.scrubErr(nerr)
		}
		c.register(client, resp)
		rep, err = c.authStep(base64.StdEncoding.EncodeToString(resp), Redacted)
	}
	rep = c.scrubbed(rep)
	if err != nil {
		return rep, err
	}
	if f, ok := client.(Finisher); ok && rep.Code == 235 {
		if why := f.Unfinished(); why != "" {
			e := malformed(why, rep.String())
			e.Cmd = cmd
			return rep, e
		}
	}
	// The loop ends on any code but 334, so 334 is named but never met here.
	return rep, Expect(rep, cmd, 235, 334)
}

// register makes the client's secrets, and a response that carries one,
// redacted everywhere.
func (c *Conn) register(client SASLClient, resp []byte) {
	if h, ok := client.(SecretHolder); ok {
		for _, s := range h.Secrets() {
			c.tr.AddSecret(s)
		}
	}
	if p, ok := client.(PublicResponder); ok && p.PublicResponse() {
		return
	}
	c.tr.AddSecret(string(resp))
}

// redactedError is a client error whose text quoted a registered secret
// (a LOGIN client quoting a challenge that echoed the password).
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

func (c *Conn) scrubErr(err error) error {
	if text := c.tr.Scrub(err.Error()); text != err.Error() {
		return &redactedError{text, err}
	}
	return err
}

// authStep sends one line of the exchange and reads the reply as sent.
func (c *Conn) authStep(line, shown string) (Reply, error) {
	if err := c.Send(line, shown); err != nil {
		return Reply{}, err
	}
	return c.readReply()
}

// encodeIR encodes an initial response; RFC 4954 sends an empty one as "=".
func encodeIR(ir []byte) string {
	if len(ir) == 0 {
		return "="
	}
	return base64.StdEncoding.EncodeToString(ir)
}

// cancelAuth aborts an exchange with "*" (RFC 4954 §4); its reply is read
// so the session stays in step, and any error is moot.
func (c *Conn) cancelAuth() {
	if _, err := c.Cmd("*"); err != nil {
		c.tr.Note("AUTH cancel failed: " + err.Error())
	}
}

// ErrUnexpectedChallenge is a LOGIN prompt that is neither user nor password.
var ErrUnexpectedChallenge = errors.New("unexpected AUTH LOGIN challenge")

// ErrPlainChallenge is a challenge to PLAIN, which has said all it has to say.
var ErrPlainChallenge = errors.New("the server sent a challenge after the PLAIN initial response: it is not speaking PLAIN as RFC 4616 defines")

// PlainClient is SASL PLAIN (RFC 4616) without an authorization identity:
// the whole credential is the initial response, so it is finished at once.
type PlainClient struct {
	User, Password string
}

// Start sends "\x00user\x00password" as the initial response.
func (p *PlainClient) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + p.User + "\x00" + p.Password), nil
}

// Next refuses any challenge: the exchange is then cancelled.
func (p *PlainClient) Next([]byte) ([]byte, error) { return nil, ErrPlainChallenge }

// Secrets are the password and its framings.
func (p *PlainClient) Secrets() []string { return PairForms(p.User, p.Password) }

// PairForms are the forms in which a user and password pair is commonly
// quoted: the password, PLAIN's framings "\x00user\x00pass" and
// "user\x00pass", and "user:pass" (HTTP Basic); their base64 forms come with
// every registered secret. Not split, hex or URL-encoded forms: a server
// can always transform what it was sent, and no list can cover that.
func PairForms(user, pass string) []string {
	return []string{pass, "\x00" + user + "\x00" + pass, user + "\x00" + pass, user + ":" + pass}
}

// LoginClient is AUTH LOGIN as check_smtp and most servers speak it: no
// initial response, then the user and the password in answer to two prompts.
// go-sasl's LOGIN sends the user as an initial response and expects the exact
// prompt "Password:", which some servers do not send.
type LoginClient struct {
	User, Password string
	step           int
}

// Start begins AUTH LOGIN without an initial response.
func (l *LoginClient) Start() (string, []byte, error) { return "LOGIN", nil, nil }

// PublicResponse: the user name is no secret; messages name it.
func (l *LoginClient) PublicResponse() bool { return l.step == 1 }

// Unfinished: a 235 counts only after the password was sent.
func (l *LoginClient) Unfinished() string {
	switch l.step {
	case 0:
		return NotFinished("neither the user name nor the password was sent yet")
	case 1:
		return NotFinished("the password was not sent yet")
	}
	return ""
}

// Secrets are the password and the PLAIN framings of the pair, which a
// server may quote though LOGIN never sent them.
func (l *LoginClient) Secrets() []string { return PairForms(l.User, l.Password) }

// Next answers the "Username:" then the "Password:" prompt.
func (l *LoginClient) Next(challenge []byte) ([]byte, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte(l.User), nil
	case 2:
		return []byte(l.Password), nil
	}
	return nil, fmt.Errorf("%w %q", ErrUnexpectedChallenge, challenge)
}
