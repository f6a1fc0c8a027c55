package smtp

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
)

// The credentials of every AUTH test: password hunter2 is the secret.
const (
	user = "alice"
	pass = "hunter2"

	plainIR    = "AGFsaWNlAGh1bnRlcjI=" // base64("\x00alice\x00hunter2")
	userB64    = "YWxpY2U="             // base64("alice")
	passB64    = "aHVudGVyMg=="         // base64("hunter2")
	promptUser = "334 VXNlcm5hbWU6\r\n" // "Username:"
	promptPass = "334 UGFzc3dvcmQ6\r\n" // "Password:"

	authOK     = "235 2.7.0 Authentication successful\r\n"
	authFailed = "535 5.7.8 Authentication credentials invalid\r\n"
	cancelled  = "501 5.7.0 Authentication cancelled\r\n"
)

var (
	okReply     = Reply{Code: 235, Enhanced: "2.7.0", Lines: []string{"2.7.0 Authentication successful"}}
	failedReply = Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 Authentication credentials invalid"}}
)

func authWith(newClient func() SASLClient) func(*Conn) (Reply, error) {
	return func(c *Conn) (Reply, error) { return c.Auth(newClient()) }
}

func plain() SASLClient { return &PlainClient{User: user, Password: pass} }
func login() SASLClient { return &LoginClient{User: user, Password: pass} }

// scripted is a SASL client that answers every challenge with the next of
// its responses, or with "x" once they run out; it records the challenges.
type scripted struct {
	mech       string
	ir         []byte
	startErr   error
	responses  []string
	challenges []string
}

func (s *scripted) Start() (string, []byte, error) { return s.mech, s.ir, s.startErr }

func (s *scripted) Next(challenge []byte) ([]byte, error) {
	s.challenges = append(s.challenges, string(challenge))
	if len(s.responses) == 0 {
		return []byte("x"), nil
	}
	r := s.responses[0]
	s.responses = s.responses[1:]
	return []byte(r), nil
}

func isReplyError(want Reply, temporary bool) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var re *ReplyError
		if !errors.As(err, &re) {
			t.Fatalf("error %v (%T) is not a *ReplyError", err, err)
		}
		checkReply(t, re.Reply, want)
		if re.Temporary() != temporary {
			t.Errorf("Temporary() = %v, want %v", re.Temporary(), temporary)
		}
	}
}

func TestAuth(t *testing.T) {
	secret := []string{pass}
	hidden := []string{plainIR, userB64, user}
	tooMany := strings.Repeat("334 Zm9v\r\n", maxAuthSteps+1)
	runExchanges(t, []exchange{
		{
			name:    "PLAIN accepted",
			server:  authOK,
			secrets: secret, hidden: hidden,
			run:   authWith(plain),
			wrote: "AUTH PLAIN " + plainIR + "\r\n",
			lines: []string{"C: AUTH PLAIN <redacted>", "S: 235 2.7.0 Authentication successful"},
			reply: okReply,
		},
		{
			name:    "PLAIN rejected",
			server:  authFailed,
			secrets: secret, hidden: hidden,
			run:   authWith(plain),
			wrote: "AUTH PLAIN " + plainIR + "\r\n",
			lines: []string{"C: AUTH PLAIN <redacted>", "S: 535 5.7.8 Authentication credentials invalid"},
			reply: failedReply,
			err:   "535 5.7.8 Authentication credentials invalid",
			check: isReplyError(failedReply, false),
		},
		{
			name:    "PLAIN temporary failure",
			server:  "454 4.7.0 Temporary authentication failure\r\n",
			secrets: secret, hidden: hidden,
			run:   authWith(plain),
			wrote: "AUTH PLAIN " + plainIR + "\r\n",
			lines: []string{"C: AUTH PLAIN <redacted>", "S: 454 4.7.0 Temporary authentication failure"},
			reply: Reply{Code: 454, Enhanced: "4.7.0", Lines: []string{"4.7.0 Temporary authentication failure"}},
			err:   "454 4.7.0 Temporary authentication failure",
			check: isReplyError(Reply{Code: 454, Enhanced: "4.7.0", Lines: []string{"4.7.0 Temporary authentication failure"}}, true),
		},
		{
			// PLAIN has nothing to say to a challenge: cancel with "*".
			name:    "PLAIN challenged",
			server:  "334 \r\n" + cancelled,
			secrets: secret, hidden: hidden,
			run:   authWith(plain),
			wrote: "AUTH PLAIN " + plainIR + "\r\n*\r\n",
			lines: []string{
				"C: AUTH PLAIN <redacted>",
				"S: 334",
				"C: *",
				"S: 501 5.7.0 Authentication cancelled",
			},
			reply: Reply{Code: 334, Lines: []string{""}},
			err:   "the server sent a challenge after the PLAIN initial response: it is not speaking PLAIN as RFC 4616 defines",
			check: isErr(ErrPlainChallenge),
		},
		{
			name:    "LOGIN accepted",
			server:  promptUser + promptPass + authOK,
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n",
			lines: []string{
				"C: AUTH LOGIN",
				"S: 334 VXNlcm5hbWU6",
				"C: <redacted>",
				"S: 334 UGFzc3dvcmQ6",
				"C: <redacted>",
				"S: 235 2.7.0 Authentication successful",
			},
			reply: okReply,
		},
		{
			name:    "LOGIN rejected",
			server:  promptUser + promptPass + authFailed,
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n",
			lines: []string{
				"C: AUTH LOGIN",
				"S: 334 VXNlcm5hbWU6",
				"C: <redacted>",
				"S: 334 UGFzc3dvcmQ6",
				"C: <redacted>",
				"S: 535 5.7.8 Authentication credentials invalid",
			},
			reply: failedReply,
			err:   "535 5.7.8 Authentication credentials invalid",
			check: isReplyError(failedReply, false),
		},
		{
			name:    "LOGIN not offered",
			server:  "504 5.5.4 Unrecognized authentication type\r\n",
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 504 5.5.4 Unrecognized authentication type"},
			reply: Reply{Code: 504, Enhanced: "5.5.4", Lines: []string{"5.5.4 Unrecognized authentication type"}},
			err:   "504 5.5.4 Unrecognized authentication type",
			check: isReplyError(Reply{Code: 504, Enhanced: "5.5.4", Lines: []string{"5.5.4 Unrecognized authentication type"}}, false),
		},
		{
			name:    "LOGIN with a third prompt",
			server:  promptUser + promptPass + "334 Zm9v\r\n" + cancelled,
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n*\r\n",
			lines: []string{
				"C: AUTH LOGIN",
				"S: 334 VXNlcm5hbWU6",
				"C: <redacted>",
				"S: 334 UGFzc3dvcmQ6",
				"C: <redacted>",
				"S: 334 Zm9v",
				"C: *",
				"S: 501 5.7.0 Authentication cancelled",
			},
			reply: Reply{Code: 334, Lines: []string{"Zm9v"}},
			err:   `unexpected AUTH LOGIN challenge "foo"`,
			check: isErr(ErrUnexpectedChallenge),
		},
		{
			name:    "challenge not base64",
			server:  "334 Username?\r\n" + cancelled,
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n*\r\n",
			lines: []string{
				"C: AUTH LOGIN",
				"S: 334 Username?",
				"C: *",
				"S: 501 5.7.0 Authentication cancelled",
			},
			reply: Reply{Code: 334, Lines: []string{"Username?"}},
			err:   `malformed reply: AUTH challenge is not base64: "Username?"`,
			check: isProtocolError,
		},
		{
			// The cancel's own failure is noted, not returned.
			name:    "challenge not base64, then the server hangs up",
			server:  "334 Username?\r\n",
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n*\r\n",
			lines: []string{
				"C: AUTH LOGIN",
				"S: 334 Username?",
				"C: *",
				"* AUTH cancel failed: EOF",
			},
			reply: Reply{Code: 334, Lines: []string{"Username?"}},
			err:   `malformed reply: AUTH challenge is not base64: "Username?"`,
			check: isProtocolError,
		},
		{
			name:    "too many challenges",
			server:  tooMany + cancelled,
			secrets: secret,
			run: authWith(func() SASLClient {
				return &scripted{mech: "X-ENDLESS"}
			}),
			wrote: "AUTH X-ENDLESS\r\n" + strings.Repeat("eA==\r\n", maxAuthSteps) + "*\r\n",
			lines: append(append([]string{"C: AUTH X-ENDLESS"},
				repeatLines(maxAuthSteps, "S: 334 Zm9v", "C: <redacted>")...),
				"S: 334 Zm9v",
				"C: *",
				"S: 501 5.7.0 Authentication cancelled",
			),
			reply: Reply{Code: 334, Lines: []string{"Zm9v"}},
			err:   "malformed reply: server sent more than 10 AUTH challenges",
			check: isProtocolError,
		},
		{
			name:    "connection lost mid-exchange",
			server:  promptUser,
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n" + userB64 + "\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>"},
			err:   "EOF",
			check: isErr(io.EOF),
		},
		{
			// RFC 4954 sends an empty initial response as "=".
			name:    "empty initial response",
			server:  authOK,
			secrets: secret,
			run: authWith(func() SASLClient {
				return &scripted{mech: "EXTERNAL", ir: []byte{}}
			}),
			wrote: "AUTH EXTERNAL =\r\n",
			lines: []string{"C: AUTH EXTERNAL <redacted>", "S: 235 2.7.0 Authentication successful"},
			reply: okReply,
		},
		{
			name:    "multi-step mechanism",
			server:  "334 PDEyMzQ1QGV4YW1wbGUub3JnPg==\r\n" + authOK,
			secrets: secret,
			run: authWith(func() SASLClient {
				return &scripted{mech: "CRAM-MD5", responses: []string{"alice 0123456789abcdef"}}
			}),
			wrote: "AUTH CRAM-MD5\r\nYWxpY2UgMDEyMzQ1Njc4OWFiY2RlZg==\r\n",
			lines: []string{
				"C: AUTH CRAM-MD5",
				"S: 334 PDEyMzQ1QGV4YW1wbGUub3JnPg==",
				"C: <redacted>",
				"S: 235 2.7.0 Authentication successful",
			},
			reply: okReply,
		},
		{
			// Postfix's smtp-sink answers AUTH LOGIN with 250: only 235 is success.
			name:    "250 to AUTH LOGIN is no login",
			server:  "250 2.0.0 Ok\r\n",
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 250 2.0.0 Ok"},
			reply: Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ok"}},
			err:   `invalid response "250 2.0.0 Ok" to AUTH LOGIN: expected 235 or 334`,
			check: isProtocolError,
		},
		{
			name:    "250 to AUTH PLAIN is no login",
			server:  "250 2.0.0 Ok\r\n",
			secrets: secret, hidden: hidden,
			run:   authWith(plain),
			wrote: "AUTH PLAIN " + plainIR + "\r\n",
			lines: []string{"C: AUTH PLAIN <redacted>", "S: 250 2.0.0 Ok"},
			reply: Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ok"}},
			err:   `invalid response "250 2.0.0 Ok" to AUTH PLAIN: expected 235 or 334`,
			check: isProtocolError,
		},
		{
			name:    "220 after the LOGIN password is no login",
			server:  promptUser + promptPass + "220 2.0.0 fine\r\n",
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>", "S: 220 2.0.0 fine"},
			reply: Reply{Code: 220, Enhanced: "2.0.0", Lines: []string{"2.0.0 fine"}},
			err:   `invalid response "220 2.0.0 fine" to AUTH LOGIN: expected 235 or 334`,
			check: isProtocolError,
		},
		// Echoes: nothing is registered beforehand, Auth registers what it sends.
		{
			name:   "PLAIN initial response echoed in the 535, base64 and raw",
			server: "535-5.7.8 you sent " + plainIR + "\r\n535 5.7.8 that is \x00alice\x00hunter2\r\n",
			hidden: []string{plainIR, "\x00alice\x00hunter2", pass},
			run:    authWith(plain),
			wrote:  "AUTH PLAIN " + plainIR + "\r\n",
			lines:  []string{"C: AUTH PLAIN <redacted>", "S: 535-5.7.8 you sent <redacted>", "S: 535 5.7.8 that is <redacted>"},
			reply:  Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 you sent <redacted>", "5.7.8 that is <redacted>"}},
			err:    "535 5.7.8 you sent <redacted>",
			check:  isReplyError(Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 you sent <redacted>", "5.7.8 that is <redacted>"}}, false),
		},
		{
			name:   "LOGIN password echoed as a third challenge",
			server: promptUser + promptPass + "334 " + passB64 + "\r\n" + cancelled,
			hidden: []string{pass, passB64},
			run:    authWith(login),
			wrote:  "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n*\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>",
				"S: 334 <redacted>", "C: *", "S: 501 5.7.0 Authentication cancelled"},
			reply: Reply{Code: 334, Lines: []string{"<redacted>"}},
			err:   `unexpected AUTH LOGIN challenge "<redacted>"`,
			check: isErr(ErrUnexpectedChallenge),
		},
		{
			// The user name is no secret: messages name it.
			name:   "LOGIN user name echoed stays readable",
			server: promptUser + promptPass + "535 5.7.8 alice: wrong password\r\n",
			hidden: []string{pass, passB64},
			run:    authWith(login),
			wrote:  "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>",
				"S: 535 5.7.8 alice: wrong password"},
			reply: Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 alice: wrong password"}},
			err:   "535 5.7.8 alice: wrong password",
			check: isReplyError(Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 alice: wrong password"}}, false),
		},
		{
			name:   "CRAM-MD5 response echoed, raw and base64",
			server: "334 PDEyMzQ1QGV4YW1wbGUub3JnPg==\r\n535 5.7.8 alice 0123456789abcdef is YWxpY2UgMDEyMzQ1Njc4OWFiY2RlZg==\r\n",
			hidden: []string{"0123456789abcdef", "YWxpY2UgMDEyMzQ1Njc4OWFiY2RlZg=="},
			run: authWith(func() SASLClient {
				return &scripted{mech: "CRAM-MD5", responses: []string{"alice 0123456789abcdef"}}
			}),
			wrote: "AUTH CRAM-MD5\r\nYWxpY2UgMDEyMzQ1Njc4OWFiY2RlZg==\r\n",
			lines: []string{"C: AUTH CRAM-MD5", "S: 334 PDEyMzQ1QGV4YW1wbGUub3JnPg==", "C: <redacted>", "S: 535 5.7.8 <redacted> is <redacted>"},
			reply: Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 <redacted> is <redacted>"}},
			err:   "535 5.7.8 <redacted> is <redacted>",
			check: isReplyError(Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 <redacted> is <redacted>"}}, false),
		},
		// A 235 before the mechanism has sent what it needs checked nothing.
		{
			name:    "235 at once to AUTH LOGIN is no login",
			server:  authOK,
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 235 2.7.0 Authentication successful"},
			reply: okReply,
			err:   `invalid response "235 2.7.0 Authentication successful" to AUTH LOGIN: the exchange is not finished (neither the user name nor the password was sent yet)`,
			check: isProtocolError,
		},
		{
			name:    "235 after the LOGIN user name is no login",
			server:  promptUser + authOK,
			secrets: secret, hidden: hidden,
			run:   authWith(login),
			wrote: "AUTH LOGIN\r\n" + userB64 + "\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 235 2.7.0 Authentication successful"},
			reply: okReply,
			err:   `invalid response "235 2.7.0 Authentication successful" to AUTH LOGIN: the exchange is not finished (the password was not sent yet)`,
			check: isProtocolError,
		},
		{
			// LOGIN never sent the PLAIN framings; a server quoting them is redacted all the same.
			name:   "LOGIN pair echoed in PLAIN framings",
			server: promptUser + promptPass + "535 5.7.8 got " + plainIR + " alice:hunter2 " + b64("alice\x00hunter2") + "\r\n",
			hidden: []string{pass, plainIR, "alice:hunter2", b64("alice\x00hunter2"), b64("alice:hunter2")},
			run:    authWith(login),
			wrote:  "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n",
			lines: []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>",
				"S: 535 5.7.8 got <redacted> <redacted> <redacted>"},
			reply: Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 got <redacted> <redacted> <redacted>"}},
			err:   "535 5.7.8 got <redacted> <redacted> <redacted>",
			check: isReplyError(Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 got <redacted> <redacted> <redacted>"}}, false),
		},
		{
			// The connection ends inside the echoed password: its start is redacted too.
			name:   "password cut off by the end of the connection",
			server: promptUser + promptPass + "5x5 you sent hunte",
			hidden: []string{"hunte"},
			run:    authWith(login),
			wrote:  "AUTH LOGIN\r\n" + userB64 + "\r\n" + passB64 + "\r\n",
			lines:  []string{"C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: <redacted>", "S: 334 UGFzc3dvcmQ6", "C: <redacted>"},
			err:    `malformed reply: expected a three-digit reply code: "5x5 you sent <redacted>"`,
			check:  isProtocolError,
		},
		{
			name:   "PLAIN response cut off in base64",
			server: "5x5 you sent " + plainIR[:12],
			hidden: []string{plainIR[:12]},
			run:    authWith(plain),
			wrote:  "AUTH PLAIN " + plainIR + "\r\n",
			lines:  []string{"C: AUTH PLAIN <redacted>"},
			err:    `malformed reply: expected a three-digit reply code: "5x5 you sent <redacted>"`,
			check:  isProtocolError,
		},
		{
			name:   "client fails to start",
			server: authOK,
			run: authWith(func() SASLClient {
				return &scripted{startErr: errors.New("no credentials")}
			}),
			err:    "no credentials",
			unread: len(authOK),
		},
	})
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// The LOGIN client answers whatever the prompts say: some servers send
// "User Name" or nothing at all.
func TestLoginClient(t *testing.T) {
	l := &LoginClient{User: user, Password: pass}
	mech, ir, err := l.Start()
	if mech != "LOGIN" || ir != nil || err != nil {
		t.Fatalf("Start() = %q, %q, %v", mech, ir, err)
	}
	for i, want := range []string{user, pass} {
		got, err := l.Next([]byte("anything"))
		if string(got) != want || err != nil {
			t.Errorf("Next #%d = %q, %v; want %q", i+1, got, err, want)
		}
	}
	got, err := l.Next([]byte("more?"))
	if got != nil || !errors.Is(err, ErrUnexpectedChallenge) || err.Error() != `unexpected AUTH LOGIN challenge "more?"` {
		t.Errorf("third Next = %q, %v", got, err)
	}
}

// The challenges reach the SASL client decoded.
func TestAuthDecodesChallenges(t *testing.T) {
	c, _, _ := dial("334 PDEyMzQ1QGV4YW1wbGUub3JnPg==\r\n334\r\n"+authOK, false)
	s := &scripted{mech: "X"}
	if _, err := c.Auth(s); err != nil {
		t.Fatal(err)
	}
	want := []string{"<12345@example.org>", ""}
	if !equalLines(s.challenges, want) {
		t.Errorf("challenges = %q, want %q", s.challenges, want)
	}
}

func repeatLines(n int, lines ...string) []string {
	var out []string
	for range n {
		out = append(out, lines...)
	}
	return out
}
