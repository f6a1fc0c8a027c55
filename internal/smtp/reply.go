package smtp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Limits on what a server may send in one reply. RFC 5321 allows 512 octets a
// line; real servers exceed that a little, so the cap is generous but finite.
const (
	MaxLineBytes  = 4096
	MaxReplyLines = 128
)

// ErrLineTooLong and ErrTooManyLines report a reply that broke the limits above.
var (
	ErrLineTooLong  = fmt.Errorf("reply line longer than %d bytes", MaxLineBytes)
	ErrTooManyLines = fmt.Errorf("reply has more than %d lines", MaxReplyLines)
)

// ProtocolError is a reply that does not follow RFC 5321's syntax, or (Cmd
// set) a well-formed reply whose code the command does not allow.
type ProtocolError struct {
	Reason string
	Line   string // the offending line, quoted and shortened
	Cmd    string // the command answered, e.g. "AUTH LOGIN", or Greeting; "" for a malformed reply
	raw    string // Line before quoting, so that a Conn can scrub secrets before the cut
	cut    bool   // raw ends where the connection did, maybe inside a secret
}

func (e *ProtocolError) Error() string {
	switch {
	case e.Cmd == Greeting:
		return fmt.Sprintf("invalid response %s as the greeting: %s", e.Line, e.Reason)
	case e.Cmd != "":
		return fmt.Sprintf("invalid response %s to %s: %s", e.Line, e.Cmd, e.Reason)
	case e.Line == "":
		return "malformed reply: " + e.Reason
	}
	return fmt.Sprintf("malformed reply: %s: %s", e.Reason, e.Line)
}

// malformed is a ProtocolError about one line as read.
func malformed(reason, line string) *ProtocolError {
	return &ProtocolError{Reason: reason, Line: quote(line), raw: line}
}

// Greeting is Expect's cmd for the server's greeting, which answers no command.
const Greeting = "the greeting"

// UnsolicitedError is data the server sent after a complete reply, before
// the client sent anything: a client that does not pipeline never asked for
// it, and reading it as the next command's reply would credit that command
// with an answer it never got.
type UnsolicitedError struct {
	Bytes int    // how many bytes were waiting
	Line  string // the first line of them, quoted and shortened
}

func (e *UnsolicitedError) Error() string {
	return fmt.Sprintf("the server sent %s after its reply, before the next command", e.Line)
}

// Expect checks that rep is one of the codes the command cmd allows for
// going on. A 4xx or 5xx is a refusal (*ReplyError); any other code is a
// *ProtocolError: a class is never taken for a code (RFC 4954 §4: only 235
// ends AUTH; Postfix's smtp-sink answers AUTH with 250).
func Expect(rep Reply, cmd string, want ...int) error {
	if slices.Contains(want, rep.Code) {
		return nil
	}
	if c := rep.Class(); c == 4 || c == 5 {
		return &ReplyError{Reply: rep}
	}
	codes := make([]string, len(want))
	for i, w := range want {
		codes[i] = strconv.Itoa(w)
	}
	line := rep.String()
	return &ProtocolError{Reason: "expected " + strings.Join(codes, " or "), Line: quote(line), Cmd: cmd, raw: line}
}

// Reply is one complete (possibly multi-line) server reply.
type Reply struct {
	Code     int      // three-digit reply code
	Enhanced string   // RFC 3463 enhanced status code of the first line, e.g. "5.7.8"; may be empty
	Lines    []string // text after "NNN-" / "NNN " of each line, enhanced code included
}

// Class is the first digit of the code: 2, 3, 4 or 5.
func (r Reply) Class() int { return r.Code / 100 }

// Text is the lines' text joined by spaces.
func (r Reply) Text() string { return strings.Join(r.Lines, " ") }

// String is the code and the first line, as a person would quote the reply.
func (r Reply) String() string {
	if len(r.Lines) == 0 || r.Lines[0] == "" {
		return strconv.Itoa(r.Code)
	}
	return strconv.Itoa(r.Code) + " " + r.Lines[0]
}

// ReplyError is a reply whose class says the command failed (4xx or 5xx) or
// was not what the client expected.
type ReplyError struct {
	Reply Reply
}

func (e *ReplyError) Error() string { return e.Reply.String() }

// Temporary reports a 4xx reply.
func (e *ReplyError) Temporary() bool { return e.Reply.Class() == 4 }

// ReadReply reads one reply from r. It enforces the line and line-count caps,
// the RFC 5321 syntax, and that every line of a multi-line reply has the same code.
func ReadReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	for n := 0; ; n++ {
		if n == MaxReplyLines {
			return rep, ErrTooManyLines
		}
		line, err := readLine(r)
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return rep, err
		}
		code, last, text, err := parseLine(line)
		if err != nil {
			return rep, err
		}
		if n == 0 {
			rep.Code = code
			rep.Enhanced = enhancedCode(code, text)
		} else if code != rep.Code {
			return rep, malformed(fmt.Sprintf("inconsistent codes %d and %d in one multi-line reply", rep.Code, code), line)
		}
		rep.Lines = append(rep.Lines, text)
		if last {
			return rep, nil
		}
	}
}

// readLine returns one line without its CRLF. A bare LF or a bare CR in a
// line is malformed (RFC 5321 §2.3.8): taking a bare LF as a line end would
// split one reply into two and blame the next phase; a bare CR would join
// two lines into one, so that a reply waits for a last line that never
// comes, or "250 ok\r550 no" reads as a 250. A line over MaxLineBytes is an
// error, not a hang.
func readLine(r *bufio.Reader) (string, error) {
	b, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", ErrLineTooLong
	}
	if err != nil {
		if len(b) > 0 && errors.Is(err, io.EOF) {
			// Cut off mid-line. If the bytes cannot even begin a reply (a TLS
			// record, another protocol's banner), that is the diagnosis.
			if !replyPrefix(b) {
				if _, _, _, perr := parseLine(string(b)); perr != nil {
					if pe, ok := perr.(*ProtocolError); ok {
						pe.cut = true
					}
					return "", perr
				}
			}
			return "", io.ErrUnexpectedEOF
		}
		return "", err
	}
	if len(b) > MaxLineBytes {
		return "", ErrLineTooLong
	}
	s, crlf := strings.CutSuffix(string(b[:len(b)-1]), "\r")
	why := ""
	switch {
	case !crlf:
		why = "line ends in a bare LF, not CRLF"
	case strings.Contains(s, "\r"):
		why = "a CR not followed by LF inside the line"
	}
	if why != "" {
		if _, _, _, perr := parseLine(s); perr != nil {
			return "", perr // garbage is the better diagnosis
		}
		return "", malformed(why, s)
	}
	return s, nil
}

// replyPrefix reports whether b could be the start of a reply line: a digit
// 2-5, two digits, then a space, a hyphen or the line ending.
func replyPrefix(b []byte) bool {
	for i, ch := range b {
		switch {
		case i == 0:
			if ch < '2' || ch > '5' {
				return false
			}
		case i < 3:
			if ch < '0' || ch > '9' {
				return false
			}
		default:
			return ch == ' ' || ch == '-' || ch == '\r'
		}
	}
	return true
}

func parseLine(line string) (code int, last bool, text string, err error) {
	if len(line) < 3 || !isDigits(line[:3]) {
		return 0, false, "", malformed("expected a three-digit reply code", line)
	}
	if line[0] < '2' || line[0] > '5' {
		return 0, false, "", malformed("reply code "+line[:3]+" is outside 200-599", line)
	}
	code, _ = strconv.Atoi(line[:3])
	if len(line) == 3 {
		return code, true, "", nil
	}
	switch line[3] {
	case ' ':
		return code, true, line[4:], nil
	case '-':
		return code, false, line[4:], nil
	}
	return 0, false, "", malformed("expected space or hyphen after the reply code", line)
}

// enhancedCode returns the RFC 3463 code at the start of text if its class
// matches the reply's class ("5.7.8" only on a 5xx reply).
func enhancedCode(code int, text string) string {
	field, _, _ := strings.Cut(text, " ")
	parts := strings.Split(field, ".")
	if len(parts) != 3 || parts[0] != strconv.Itoa(code/100) {
		return ""
	}
	for i, p := range parts {
		max := 3
		if i == 0 {
			max = 1
		}
		if len(p) == 0 || len(p) > max || !isDigits(p) {
			return ""
		}
	}
	return field
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// quote shows an offending line safely: printable, at most 60 bytes.
func quote(s string) string {
	const max = 60
	if len(s) > max {
		return strconv.QuoteToASCII(s[:max]) + "..."
	}
	return strconv.QuoteToASCII(s)
}
