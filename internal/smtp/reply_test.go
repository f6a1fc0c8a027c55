package smtp

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"testing/iotest"
)

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, MaxLineBytes) }

func TestReadReply(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name  string
		in    string
		reply Reply
		err   string
		is    error // errors.Is target, if any
		proto bool  // want a *ProtocolError
	}{
		{
			name:  "single line",
			in:    "220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n",
			reply: Reply{Code: 220, Lines: []string{"mx.example.org ESMTP Postfix (Debian/GNU)"}},
		},
		{
			name:  "multi-line",
			in:    "250-mx.example.org\r\n250-PIPELINING\r\n250 8BITMIME\r\n",
			reply: Reply{Code: 250, Lines: []string{"mx.example.org", "PIPELINING", "8BITMIME"}},
		},
		{
			name:  "final line without text",
			in:    "250-mx.example.org\r\n250-SIZE 10240000\r\n250\r\n",
			reply: Reply{Code: 250, Lines: []string{"mx.example.org", "SIZE 10240000", ""}},
		},
		{
			name:  "only a code",
			in:    "250\r\n",
			reply: Reply{Code: 250, Lines: []string{""}},
		},
		{
			name:  "empty continuation line",
			in:    "250-\r\n250 ok\r\n",
			reply: Reply{Code: 250, Lines: []string{"", "ok"}},
		},
		{
			name:  "space after the code, no text",
			in:    "250 \r\n",
			reply: Reply{Code: 250, Lines: []string{""}},
		},
		{
			name:  "text keeps inner and trailing spaces",
			in:    "250  two  spaces \r\n",
			reply: Reply{Code: 250, Lines: []string{" two  spaces "}},
		},
		{
			// A bare LF would split one reply into two and blame the next phase.
			name:  "LF-only endings",
			in:    "250-mx.example.org\n250-PIPELINING\n250 8BITMIME\n",
			err:   `malformed reply: line ends in a bare LF, not CRLF: "250-mx.example.org"`,
			proto: true,
		},
		{
			name:  "bare LF inside a reply",
			in:    "250-mx.example.org\r\n250-PIPE\nLINING\r\n250 8BITMIME\r\n",
			reply: Reply{Code: 250, Lines: []string{"mx.example.org"}},
			err:   `malformed reply: line ends in a bare LF, not CRLF: "250-PIPE"`,
			proto: true,
		},
		{
			name:  "bare LF ending the last line",
			in:    "220 a\n220 b\r\n",
			err:   `malformed reply: line ends in a bare LF, not CRLF: "220 a"`,
			proto: true,
		},
		// A bare CR would join two lines: a reply waiting for a last line
		// that never comes, or a 550 hidden in a 250.
		{
			name:  "a stray CR before the CRLF",
			in:    "250 ok\r\r\n",
			err:   `malformed reply: a CR not followed by LF inside the line: "250 ok\r"`,
			proto: true,
		},
		{
			name:  "bare CR inside a multi-line reply",
			in:    "250-hostile\r250 8BITMIME\r\n",
			err:   `malformed reply: a CR not followed by LF inside the line: "250-hostile\r250 8BITMIME"`,
			proto: true,
		},
		{
			name:  "bare CR hiding a 550 in a 250",
			in:    "250 ok\r550 no\r\n",
			err:   `malformed reply: a CR not followed by LF inside the line: "250 ok\r550 no"`,
			proto: true,
		},
		{
			name:  "enhanced 5.7.8 on 535",
			in:    "535 5.7.8 Authentication credentials invalid\r\n",
			reply: Reply{Code: 535, Enhanced: "5.7.8", Lines: []string{"5.7.8 Authentication credentials invalid"}},
		},
		{
			name:  "enhanced 2.0.0 on 250",
			in:    "250 2.0.0 Ok\r\n",
			reply: Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0 Ok"}},
		},
		{
			name:  "enhanced code alone",
			in:    "250 2.0.0\r\n",
			reply: Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0"}},
		},
		{
			name:  "enhanced with three-digit subject and detail",
			in:    "550 5.123.456 x\r\n",
			reply: Reply{Code: 550, Enhanced: "5.123.456", Lines: []string{"5.123.456 x"}},
		},
		{
			name:  "enhanced of the first line only",
			in:    "250-2.0.0 first\r\n250 2.1.0 second\r\n",
			reply: Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"2.0.0 first", "2.1.0 second"}},
		},
		{
			name:  "enhanced on a later line only is not taken",
			in:    "250-first\r\n250 2.1.0 second\r\n",
			reply: Reply{Code: 250, Lines: []string{"first", "2.1.0 second"}},
		},
		{
			name:  "4.x.x on a 5xx reply is not taken",
			in:    "550 4.2.2 Mailbox full\r\n",
			reply: Reply{Code: 550, Lines: []string{"4.2.2 Mailbox full"}},
		},
		{
			name:  "malformed 5.7 is not taken",
			in:    "535 5.7 Authentication failed\r\n",
			reply: Reply{Code: 535, Lines: []string{"5.7 Authentication failed"}},
		},
		{
			name:  "four parts are not taken",
			in:    "535 5.7.8.1 x\r\n",
			reply: Reply{Code: 535, Lines: []string{"5.7.8.1 x"}},
		},
		{
			name:  "empty part is not taken",
			in:    "535 5..8 x\r\n",
			reply: Reply{Code: 535, Lines: []string{"5..8 x"}},
		},
		{
			name:  "four-digit part is not taken",
			in:    "535 5.7.1234 x\r\n",
			reply: Reply{Code: 535, Lines: []string{"5.7.1234 x"}},
		},
		{
			name:  "two-digit class is not taken",
			in:    "535 55.7.8 x\r\n",
			reply: Reply{Code: 535, Lines: []string{"55.7.8 x"}},
		},
		{
			name:  "trailing punctuation is not taken",
			in:    "535 5.7.8: x\r\n",
			reply: Reply{Code: 535, Lines: []string{"5.7.8: x"}},
		},
		{
			name:  "inconsistent codes",
			in:    "250-mx.example.org\r\n251 PIPELINING\r\n",
			reply: Reply{Code: 250, Lines: []string{"mx.example.org"}},
			err:   `malformed reply: inconsistent codes 250 and 251 in one multi-line reply: "251 PIPELINING"`,
			proto: true,
		},
		{
			name:  "EOF in a multi-line reply",
			in:    "250-mx.example.org\r\n250-PIPELINING\r\n",
			reply: Reply{Code: 250, Lines: []string{"mx.example.org", "PIPELINING"}},
			err:   "unexpected EOF",
			is:    io.ErrUnexpectedEOF,
		},
		{
			name: "EOF mid-line",
			in:   "250 mx.exa",
			err:  "unexpected EOF",
			is:   io.ErrUnexpectedEOF,
		},
		{
			name:  "EOF mid-code of a continuation",
			in:    "250-mx.example.org\r\n25",
			reply: Reply{Code: 250, Lines: []string{"mx.example.org"}},
			err:   "unexpected EOF",
			is:    io.ErrUnexpectedEOF,
		},
		{
			name: "EOF after the code and CR",
			in:   "250\r",
			err:  "unexpected EOF",
			is:   io.ErrUnexpectedEOF,
		},
		{
			name: "EOF before anything",
			in:   "",
			err:  "EOF",
			is:   io.EOF,
		},
		{
			// A TLS server's record has no line ending: the bytes, not the
			// EOF, are the diagnosis.
			name:  "TLS record",
			in:    "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
			err:   `malformed reply: expected a three-digit reply code: "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"`,
			proto: true,
		},
		{
			name:  "TLS alert with a newline byte in it",
			in:    "\x15\x03\x03\x00\x02\x02\x0a",
			err:   `malformed reply: expected a three-digit reply code: "\x15\x03\x03\x00\x02\x02"`,
			proto: true,
		},
		{
			name:  "HTTP",
			in:    "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
			err:   `malformed reply: expected a three-digit reply code: "HTTP/1.1 400 Bad Request"`,
			proto: true,
		},
		{
			name:  "abc",
			in:    "abc\r\n",
			err:   `malformed reply: expected a three-digit reply code: "abc"`,
			proto: true,
		},
		{
			name:  "abc without line ending",
			in:    "abc",
			err:   `malformed reply: expected a three-digit reply code: "abc"`,
			proto: true,
		},
		{
			name:  "empty line",
			in:    "\r\n",
			err:   `malformed reply: expected a three-digit reply code: ""`,
			proto: true,
		},
		{
			name:  "short code",
			in:    "25\r\n",
			err:   `malformed reply: expected a three-digit reply code: "25"`,
			proto: true,
		},
		{
			name:  "no separator",
			in:    "250OK\r\n",
			err:   `malformed reply: expected space or hyphen after the reply code: "250OK"`,
			proto: true,
		},
		{
			name:  "no separator, cut off",
			in:    "250OK",
			err:   `malformed reply: expected space or hyphen after the reply code: "250OK"`,
			proto: true,
		},
		{
			name:  "four-digit code",
			in:    "2500 OK\r\n",
			err:   `malformed reply: expected space or hyphen after the reply code: "2500 OK"`,
			proto: true,
		},
		{
			name:  "code starting with 1",
			in:    "100 Continue\r\n",
			err:   `malformed reply: reply code 100 is outside 200-599: "100 Continue"`,
			proto: true,
		},
		{
			name:  "code starting with 6",
			in:    "600 x\r\n",
			err:   `malformed reply: reply code 600 is outside 200-599: "600 x"`,
			proto: true,
		},
		{
			name:  "code starting with 0",
			in:    "099 x\r\n",
			err:   `malformed reply: reply code 099 is outside 200-599: "099 x"`,
			proto: true,
		},
		{
			name:  "garbage continuation",
			in:    "250-mx.example.org\r\nPIPELINING\r\n",
			reply: Reply{Code: 250, Lines: []string{"mx.example.org"}},
			err:   `malformed reply: expected a three-digit reply code: "PIPELINING"`,
			proto: true,
		},
		{
			name:  "long garbage is shortened",
			in:    "<html>" + long + "\r\n",
			err:   `malformed reply: expected a three-digit reply code: "<html>` + long[:54] + `"...`,
			proto: true,
		},
		{
			name:  "non-ASCII garbage is escaped",
			in:    "Grüße\r\n",
			err:   `malformed reply: expected a three-digit reply code: "Gr\u00fc\u00dfe"`,
			proto: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readModes(t, func(t *testing.T, oneByte bool) {
				var r io.Reader = strings.NewReader(tt.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				rep, err := ReadReply(newReader(r))
				checkReply(t, rep, tt.reply)
				checkErr(t, err, tt.err)
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
				}
				var pe *ProtocolError
				if got := errors.As(err, &pe); got != tt.proto {
					t.Errorf("errors.As(%v, *ProtocolError) = %v, want %v", err, got, tt.proto)
				}
			})
		})
	}
}

// countingReader counts what was read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// endless repeats a pattern forever after a prefix.
type endless struct {
	prefix  string
	pattern string
	i       int
}

func (e *endless) Read(p []byte) (int, error) {
	for n := range p {
		if e.i < len(e.prefix) {
			p[n] = e.prefix[e.i]
		} else {
			p[n] = e.pattern[(e.i-len(e.prefix))%len(e.pattern)]
		}
		e.i++
	}
	return len(p), nil
}

// The caps hold against a server that never stops: ReadReply returns having
// read little more than the cap.
func TestReadReplyLimits(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		is   error
		max  int // bytes it may read at most
	}{
		{"1 MB line", strings.NewReader("250 " + strings.Repeat("x", 1<<20) + "\r\n"), ErrLineTooLong, MaxLineBytes},
		{"endless line", &endless{prefix: "250 ", pattern: "x"}, ErrLineTooLong, MaxLineBytes},
		{"endless line after good lines", &endless{prefix: "250-a\r\n250-b\r\n250 ", pattern: "y"}, ErrLineTooLong, 2 * MaxLineBytes},
		{"endless garbage", &endless{pattern: "\x16\x03\x01"}, ErrLineTooLong, MaxLineBytes},
		{"endless lines", &endless{pattern: "250-x\r\n"}, ErrTooManyLines, MaxReplyLines*len("250-x\r\n") + MaxLineBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := &countingReader{r: tt.r}
			_, err := ReadReply(newReader(cr))
			if !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want %v", err, tt.is)
			}
			if cr.n > tt.max {
				t.Errorf("read %d bytes, want at most %d", cr.n, tt.max)
			}
		})
	}
	t.Run("error text", func(t *testing.T) {
		checkErr(t, ErrLineTooLong, "reply line longer than 4096 bytes")
		checkErr(t, ErrTooManyLines, "reply has more than 128 lines")
	})
}

// The exact edges of the caps. The line cap counts the line with its LF.
func TestReadReplyBoundaries(t *testing.T) {
	many := func(n int) string {
		return strings.Repeat("250-x\r\n", n-1) + "250 x\r\n"
	}
	text := func(n int) string { return strings.Repeat("t", n) }
	tests := []struct {
		name  string
		in    string
		lines int // want this many lines, or
		is    error
	}{
		{"longest CRLF line", "250 " + text(MaxLineBytes-6) + "\r\n", 1, nil},
		{"CRLF line one byte over", "250 " + text(MaxLineBytes-5) + "\r\n", 0, ErrLineTooLong},
		{"LF line one byte over", "250 " + text(MaxLineBytes-4) + "\n", 0, ErrLineTooLong},
		{"long line as a continuation", "250-a\r\n250-" + text(MaxLineBytes) + "\r\n250 b\r\n", 0, ErrLineTooLong},
		{"most lines", many(MaxReplyLines), MaxReplyLines, nil},
		{"one line too many", many(MaxReplyLines + 1), 0, ErrTooManyLines},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := ReadReply(newReader(strings.NewReader(tt.in)))
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Fatalf("error = %v, want %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if len(rep.Lines) != tt.lines {
				t.Errorf("%d lines, want %d", len(rep.Lines), tt.lines)
			}
		})
	}
}

// With a reader larger than the cap, the cap is still enforced.
func TestReadReplyLargeBuffer(t *testing.T) {
	in := "250 " + strings.Repeat("x", MaxLineBytes) + "\r\n"
	_, err := ReadReply(bufio.NewReaderSize(strings.NewReader(in), 4*MaxLineBytes))
	if !errors.Is(err, ErrLineTooLong) {
		t.Errorf("error = %v, want ErrLineTooLong", err)
	}
}

// Pipelined replies are read one at a time, nothing over-read.
func TestReadReplySequence(t *testing.T) {
	r := newReader(strings.NewReader("250 2.1.0 Ok\r\n250-2.1.5 Ok\r\n250 more\r\n354 End data with <CR><LF>.<CR><LF>\r\n"))
	want := []Reply{
		{Code: 250, Enhanced: "2.1.0", Lines: []string{"2.1.0 Ok"}},
		{Code: 250, Enhanced: "2.1.5", Lines: []string{"2.1.5 Ok", "more"}},
		{Code: 354, Lines: []string{"End data with <CR><LF>.<CR><LF>"}},
	}
	for _, w := range want {
		rep, err := ReadReply(r)
		if err != nil {
			t.Fatal(err)
		}
		checkReply(t, rep, w)
	}
	if _, err := ReadReply(r); err != io.EOF {
		t.Errorf("after the last reply: %v, want EOF", err)
	}
}

// Read errors other than EOF pass through unchanged.
func TestReadReplyReadError(t *testing.T) {
	for _, prefix := range []string{"", "250-a\r\n", "250 partial"} {
		r := io.MultiReader(strings.NewReader(prefix), iotest.ErrReader(os.ErrDeadlineExceeded))
		_, err := ReadReply(newReader(r))
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("prefix %q: error = %v, want the deadline error", prefix, err)
		}
	}
}

func TestReplyMethods(t *testing.T) {
	tests := []struct {
		r      Reply
		class  int
		text   string
		str    string
		temp   bool
		errStr string
	}{
		{Reply{Code: 250, Lines: []string{"mx", "PIPELINING"}}, 2, "mx PIPELINING", "250 mx", false, "250 mx"},
		{Reply{Code: 250, Lines: []string{""}}, 2, "", "250", false, "250"},
		{Reply{Code: 250, Lines: []string{"", "second"}}, 2, " second", "250", false, "250"},
		{Reply{Code: 421}, 4, "", "421", true, "421"},
		{Reply{Code: 451, Enhanced: "4.3.0", Lines: []string{"4.3.0 Try again later"}}, 4, "4.3.0 Try again later", "451 4.3.0 Try again later", true, "451 4.3.0 Try again later"},
		{Reply{Code: 554, Lines: []string{"No SMTP service here"}}, 5, "No SMTP service here", "554 No SMTP service here", false, "554 No SMTP service here"},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			if got := tt.r.Class(); got != tt.class {
				t.Errorf("Class() = %d, want %d", got, tt.class)
			}
			if got := tt.r.Text(); got != tt.text {
				t.Errorf("Text() = %q, want %q", got, tt.text)
			}
			if got := tt.r.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			re := &ReplyError{Reply: tt.r}
			if got := re.Error(); got != tt.errStr {
				t.Errorf("Error() = %q, want %q", got, tt.errStr)
			}
			if got := re.Temporary(); got != tt.temp {
				t.Errorf("Temporary() = %v, want %v", got, tt.temp)
			}
		})
	}
}

func TestProtocolErrorText(t *testing.T) {
	checkErr(t, &ProtocolError{Reason: "bad"}, "malformed reply: bad")
	checkErr(t, &ProtocolError{Reason: "bad", Line: `"x"`}, `malformed reply: bad: "x"`)
}

// A class is never taken for a code: a 4xx/5xx is a refusal, anything else
// the command does not allow is a protocol error naming the command.
func TestExpect(t *testing.T) {
	r := func(code int, text string) Reply { return Reply{Code: code, Lines: []string{text}} }
	tests := []struct {
		rep   Reply
		cmd   string
		want  []int
		err   string
		proto bool
	}{
		{r(220, "go ahead"), "STARTTLS", []int{220}, "", false},
		{r(251, "will forward"), "RCPT", []int{250, 251}, "", false},
		{r(250, "2.0.0 Ok"), "STARTTLS", []int{220}, `invalid response "250 2.0.0 Ok" to STARTTLS: expected 220`, true},
		{r(250, "bye"), "QUIT", []int{221}, `invalid response "250 bye" to QUIT: expected 221`, true},
		{r(354, "go"), "MAIL", []int{250}, `invalid response "354 go" to MAIL: expected 250`, true},
		{r(454, "4.7.0 no TLS"), "STARTTLS", []int{220}, "454 4.7.0 no TLS", false},
		{r(550, "no"), "RCPT", []int{250, 251}, "550 no", false},
	}
	for _, tt := range tests {
		err := Expect(tt.rep, tt.cmd, tt.want...)
		checkErr(t, err, tt.err)
		var pe *ProtocolError
		if errors.As(err, &pe) != tt.proto {
			t.Errorf("%v to %s: %v is a *ProtocolError: %v, want %v", tt.rep, tt.cmd, err, !tt.proto, tt.proto)
		}
	}
}
