package smtp

import (
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
)

// exchange is one client/server conversation over a fakeConn, checked byte
// for byte.
type exchange struct {
	name    string
	server  string   // everything the server sends
	secrets []string // registered with AddSecret
	hidden  []string // further strings that must never reach the transcript
	run     func(*Conn) (Reply, error)
	wrote   string   // exact bytes the client must write
	lines   []string // exact Transcript.Lines()
	reply   Reply
	err     string                        // exact err.Error(); "" for none
	check   func(t *testing.T, err error) // errors.Is / errors.As
	unread  int                           // server bytes the client must leave unread
}

func runExchanges(t *testing.T, tests []exchange) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readModes(t, func(t *testing.T, oneByte bool) {
				c, fc, tr := dial(tt.server, oneByte, tt.secrets...)
				rep, err := tt.run(c)
				if got := fc.w.String(); got != tt.wrote {
					t.Errorf("client wrote %q\n        want %q", got, tt.wrote)
				}
				checkLines(t, tr, tt.lines)
				checkReply(t, rep, tt.reply)
				checkErr(t, err, tt.err)
				if tt.check != nil {
					tt.check(t, err)
				}
				if n := fc.unread() + c.r.Buffered(); n != tt.unread {
					t.Errorf("%d bytes of the server script left unread, want %d", n, tt.unread)
				}
				checkNoSecrets(t, tr, err, rep, tt.secrets, tt.hidden)
			})
		})
	}
}

// checkNoSecrets asserts that no secret, raw or base64, and no hidden string
// appears in the transcript, the reply or the error.
func checkNoSecrets(t *testing.T, tr *Transcript, err error, rep Reply, secrets, hidden []string) {
	t.Helper()
	var forbidden []string
	for _, s := range secrets {
		forbidden = append(forbidden, s,
			base64.StdEncoding.EncodeToString([]byte(s)),
			base64.RawStdEncoding.EncodeToString([]byte(s)))
	}
	forbidden = append(forbidden, hidden...)
	texts := append(tr.Lines(), rep.Lines...)
	if err != nil {
		texts = append(texts, err.Error())
	}
	for _, text := range texts {
		for _, f := range forbidden {
			if strings.Contains(text, f) {
				t.Errorf("secret %q leaked in %q", f, text)
			}
		}
	}
}

func isErr(target error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) = false", err, target)
		}
	}
}

func isProtocolError(t *testing.T, err error) {
	t.Helper()
	var pe *ProtocolError
	if !errors.As(err, &pe) {
		t.Errorf("error %v (%T) is not a *ProtocolError", err, err)
	}
}

func readReply(c *Conn) (Reply, error) { return c.ReadReply() }

func cmd(line string) func(*Conn) (Reply, error) {
	return func(c *Conn) (Reply, error) { return c.Cmd(line) }
}

func TestConnExchanges(t *testing.T) {
	runExchanges(t, []exchange{
		{
			name:   "banner",
			server: "220 mx.example.org ESMTP Postfix\r\n",
			run:    readReply,
			lines:  []string{"S: 220 mx.example.org ESMTP Postfix"},
			reply:  Reply{Code: 220, Lines: []string{"mx.example.org ESMTP Postfix"}},
		},
		{
			name:   "postscreen multi-line banner",
			server: "220-mx.example.org ESMTP\r\n220 mx.example.org ESMTP\r\n",
			run:    readReply,
			lines:  []string{"S: 220-mx.example.org ESMTP", "S: 220 mx.example.org ESMTP"},
			reply:  Reply{Code: 220, Lines: []string{"mx.example.org ESMTP", "mx.example.org ESMTP"}},
		},
		{
			name:   "banner then EHLO reads one reply each",
			server: "220 mx.example.org ESMTP\r\n250-mx.example.org\r\n250 PIPELINING\r\n",
			run: func(c *Conn) (Reply, error) {
				if _, err := c.ReadReply(); err != nil {
					return Reply{}, err
				}
				return c.Cmd("EHLO client.example.net")
			},
			wrote: "EHLO client.example.net\r\n",
			lines: []string{
				"S: 220 mx.example.org ESMTP",
				"C: EHLO client.example.net",
				"S: 250-mx.example.org",
				"S: 250 PIPELINING",
			},
			reply: Reply{Code: 250, Lines: []string{"mx.example.org", "PIPELINING"}},
		},
		{
			name: "EHLO multi-line",
			server: "250-mx.example.org Hello client.example.net [192.0.2.7]\r\n" +
				"250-PIPELINING\r\n" +
				"250-SIZE 10240000\r\n" +
				"250-ETRN\r\n" +
				"250-STARTTLS\r\n" +
				"250-AUTH PLAIN LOGIN\r\n" +
				"250-ENHANCEDSTATUSCODES\r\n" +
				"250-8BITMIME\r\n" +
				"250 DSN\r\n",
			run:   cmd("EHLO client.example.net"),
			wrote: "EHLO client.example.net\r\n",
			lines: []string{
				"C: EHLO client.example.net",
				"S: 250-mx.example.org Hello client.example.net [192.0.2.7]",
				"S: 250-PIPELINING",
				"S: 250-SIZE 10240000",
				"S: 250-ETRN",
				"S: 250-STARTTLS",
				"S: 250-AUTH PLAIN LOGIN",
				"S: 250-ENHANCEDSTATUSCODES",
				"S: 250-8BITMIME",
				"S: 250 DSN",
			},
			reply: Reply{Code: 250, Lines: []string{
				"mx.example.org Hello client.example.net [192.0.2.7]",
				"PIPELINING", "SIZE 10240000", "ETRN", "STARTTLS",
				"AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
			}},
		},
		{
			name:   "Cmd with enhanced code",
			server: "250 2.1.0 Ok\r\n",
			run:    cmd("MAIL FROM:<monitor@example.net>"),
			wrote:  "MAIL FROM:<monitor@example.net>\r\n",
			lines:  []string{"C: MAIL FROM:<monitor@example.net>", "S: 250 2.1.0 Ok"},
			reply:  Reply{Code: 250, Enhanced: "2.1.0", Lines: []string{"2.1.0 Ok"}},
		},
		{
			// Cmd reports the reply; judging its class is the caller's business.
			name:   "Cmd with a 5xx reply is not an error",
			server: "550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown\r\n",
			run:    cmd("RCPT TO:<nobody@example.org>"),
			wrote:  "RCPT TO:<nobody@example.org>\r\n",
			lines: []string{
				"C: RCPT TO:<nobody@example.org>",
				"S: 550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
			},
			reply: Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{
				"5.1.1 <nobody@example.org>: Recipient address rejected: User unknown",
			}},
		},
		{
			name:   "final line without text",
			server: "250-mx.example.org\r\n250\r\n",
			run:    cmd("EHLO c"),
			wrote:  "EHLO c\r\n",
			lines:  []string{"C: EHLO c", "S: 250-mx.example.org", "S: 250"},
			reply:  Reply{Code: 250, Lines: []string{"mx.example.org", ""}},
		},
		{
			name:    "CmdRedacted writes line and records shown",
			server:  "235 2.7.0 Authentication successful\r\n",
			secrets: []string{"hunter2"},
			hidden:  []string{"AGFsaWNlAGh1bnRlcjI="},
			run: func(c *Conn) (Reply, error) {
				return c.CmdRedacted("AUTH PLAIN AGFsaWNlAGh1bnRlcjI=", "AUTH PLAIN "+Redacted)
			},
			wrote: "AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n",
			lines: []string{"C: AUTH PLAIN <redacted>", "S: 235 2.7.0 Authentication successful"},
			reply: Reply{Code: 235, Enhanced: "2.7.0", Lines: []string{"2.7.0 Authentication successful"}},
		},
		{
			// The transcript scrubs registered secrets whatever the call site
			// forgot, in both directions and in base64 form.
			name:    "secrets scrubbed from Cmd and from server lines",
			server:  "535-5.7.8 hunter2 is wrong\r\n535 5.7.8 so is aHVudGVyMg== and aHVudGVyMg\r\n",
			secrets: []string{"hunter2"},
			run:     cmd("AUTH PLAIN aHVudGVyMg=="),
			wrote:   "AUTH PLAIN aHVudGVyMg==\r\n",
			lines: []string{
				"C: AUTH PLAIN <redacted>",
				"S: 535-5.7.8 <redacted> is wrong",
				"S: 535 5.7.8 so is <redacted> and <redacted>",
			},
			// The reply is scrubbed too: whoever quotes it later cannot leak.
			reply: Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{
				"5.7.8 <redacted> is wrong", "5.7.8 so is <redacted> and <redacted>",
			}},
		},
		{
			name:   "EOF in a multi-line reply",
			server: "250-mx.example.org\r\n250-PIPELINING\r\n",
			run:    cmd("EHLO c"),
			wrote:  "EHLO c\r\n",
			lines:  []string{"C: EHLO c", "S: 250-mx.example.org", "S: 250-PIPELINING"},
			reply:  Reply{Code: 250, Lines: []string{"mx.example.org", "PIPELINING"}},
			err:    "unexpected EOF",
			check:  isErr(io.ErrUnexpectedEOF),
		},
		{
			name:   "connection closed before the banner",
			server: "",
			run:    readReply,
			err:    "EOF",
			check:  isErr(io.EOF),
		},
		{
			name:   "another protocol's banner",
			server: "SSH-2.0-OpenSSH_9.6\r\n",
			run:    readReply,
			err:    `malformed reply: expected a three-digit reply code: "SSH-2.0-OpenSSH_9.6"`,
			check:  isProtocolError,
		},
		{
			name:   "inconsistent codes",
			server: "250-mx.example.org\r\n251 PIPELINING\r\n",
			run:    cmd("EHLO c"),
			wrote:  "EHLO c\r\n",
			lines:  []string{"C: EHLO c", "S: 250-mx.example.org"},
			reply:  Reply{Code: 250, Lines: []string{"mx.example.org"}},
			err:    `malformed reply: inconsistent codes 250 and 251 in one multi-line reply: "251 PIPELINING"`,
			check:  isProtocolError,
		},
		{
			// Plaintext pipelined after the STARTTLS 220 stays buffered, where
			// Buffered can see it.
			name:   "STARTTLS reply followed by injected plaintext",
			server: "220 2.0.0 Ready to start TLS\r\n250 injected\r\n",
			run:    cmd("STARTTLS"),
			wrote:  "STARTTLS\r\n",
			lines:  []string{"C: STARTTLS", "S: 220 2.0.0 Ready to start TLS"},
			reply:  Reply{Code: 220, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ready to start TLS"}},
			unread: len("250 injected\r\n"),
		},
		{
			name:   "WriteRaw sends bytes as they are and notes them",
			server: "220 mx.example.org ESMTP\r\n",
			run: func(c *Conn) (Reply, error) {
				if err := c.WriteRaw([]byte("PROXY TCP4 192.0.2.1 192.0.2.2 56324 25\r\n"), "PROXY v1 header sent"); err != nil {
					return Reply{}, err
				}
				return c.ReadReply()
			},
			wrote: "PROXY TCP4 192.0.2.1 192.0.2.2 56324 25\r\n",
			lines: []string{"* PROXY v1 header sent", "S: 220 mx.example.org ESMTP"},
			reply: Reply{Code: 220, Lines: []string{"mx.example.org ESMTP"}},
		},
		{
			name:   "Send writes without reading",
			server: "250 2.0.0 Ok\r\n",
			run: func(c *Conn) (Reply, error) {
				return Reply{}, c.Send("RSET", "RSET")
			},
			wrote:  "RSET\r\n",
			lines:  []string{"C: RSET"},
			unread: len("250 2.0.0 Ok\r\n"),
		},
	})
}

func TestInjection(t *testing.T) {
	tests := []struct {
		name string
		run  func(*Conn) (Reply, error)
		err  string
	}{
		{
			name: "CRLF in Cmd",
			run:  cmd("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>"),
			err:  `command contains CR, LF or NUL: "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>"`,
		},
		{
			name: "bare LF",
			run:  cmd("HELO a\nQUIT"),
			err:  `command contains CR, LF or NUL: "HELO a\nQUIT"`,
		},
		{
			name: "bare CR",
			run:  cmd("HELO a\rQUIT"),
			err:  `command contains CR, LF or NUL: "HELO a\rQUIT"`,
		},
		{
			name: "NUL",
			run:  cmd("HELO a\x00b"),
			err:  `command contains CR, LF or NUL: "HELO a\x00b"`,
		},
		{
			name: "trailing CRLF",
			run:  cmd("NOOP\r\n"),
			err:  `command contains CR, LF or NUL: "NOOP\r\n"`,
		},
		{
			// The error quotes what the transcript would show, scrubbed.
			name: "CmdRedacted quotes shown, scrubbed",
			run: func(c *Conn) (Reply, error) {
				return c.CmdRedacted("AUTH PLAIN aHVudGVyMg==\r\nQUIT", "AUTH PLAIN hunter2\r\nQUIT")
			},
			err: `command contains CR, LF or NUL: "AUTH PLAIN <redacted>\r\nQUIT"`,
		},
		{
			name: "Send",
			run: func(c *Conn) (Reply, error) {
				return Reply{}, c.Send("RCPT TO:<a@b>\n", "RCPT TO:<a@b>\n")
			},
			err: `command contains CR, LF or NUL: "RCPT TO:<a@b>\n"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fc, tr := dial("250 2.1.0 Ok\r\n", false, "hunter2")
			rep, err := tt.run(c)
			checkErr(t, err, tt.err)
			if !errors.Is(err, ErrInjection) {
				t.Errorf("errors.Is(%v, ErrInjection) = false", err)
			}
			if fc.w.Len() != 0 {
				t.Errorf("client wrote %q, want nothing", fc.w.String())
			}
			checkReply(t, rep, Reply{})
			checkLines(t, tr, nil)
			if fc.unread() != len("250 2.1.0 Ok\r\n") {
				t.Errorf("client read the server's reply to a command it never sent")
			}
		})
	}
}

func TestConnAccessors(t *testing.T) {
	c, fc, _ := dial("", false)
	if c.NetConn() != fc {
		t.Errorf("NetConn() = %v, want the wrapped conn", c.NetConn())
	}
	if c.TLS() {
		t.Error("TLS() = true on a plaintext conn")
	}
	if err := c.Close(); err != nil || !fc.closed {
		t.Errorf("Close() = %v, closed = %v", err, fc.closed)
	}
}

// A nil transcript records nothing and must not get in the way.
func TestNilTranscript(t *testing.T) {
	fc := newFakeConn("250 2.0.0 Ok\r\n", false)
	c := NewConn(fc, nil)
	rep, err := c.Cmd("NOOP")
	checkErr(t, err, "")
	checkReply(t, rep, Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ok"}})
	if got := fc.w.String(); got != "NOOP\r\n" {
		t.Errorf("client wrote %q", got)
	}
	var tr *Transcript
	tr.AddSecret("x")
	tr.Note("x")
	if tr.Lines() != nil || tr.Entries() != nil || tr.Scrub("x") != "x" {
		t.Error("nil transcript is not inert")
	}
}
