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

// Auth runs AUTH with client. Everything the client sends is recorded as
// <redacted>; server challenges are recorded as sent. It returns the final
// reply; a non-2xx final reply is a *ReplyError.
func (c *Conn) Auth(client SASLClient) (Reply, error) {
	mech, ir, err := client.Start()
	if err != nil {
		return Reply{}, err
	}
	line := "AUTH " + mech
	shown := line
	if ir != nil {
		line += " " + encodeIR(ir)
		shown += " " + Redacted
	}
	rep, err := c.CmdRedacted(line, shown)
	for step := 0; err == nil && rep.Code == 334; step++ {
		if step == maxAuthSteps {
			c.cancelAuth()
			return rep, &ProtocolError{Reason: fmt.Sprintf("server sent more than %d AUTH challenges", maxAuthSteps)}
		}
		challenge, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(rep.Text()))
		if derr != nil {
			c.cancelAuth()
			return rep, &ProtocolError{Reason: "AUTH challenge is not base64", Line: quote(rep.Text())}
		}
		resp, nerr := client.Next(challenge)
		if nerr != nil {
			c.cancelAuth()
			return rep, nerr
		}
		rep, err = c.CmdRedacted(base64.StdEncoding.EncodeToString(resp), Redacted)
	}
	if err != nil {
		return rep, err
	}
	if rep.Class() != 2 {
		return rep, &ReplyError{Reply: rep}
	}
	return rep, nil
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
