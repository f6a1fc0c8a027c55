// Package httpsget is a minimal HTTP/1.1 client for one GET over TLS: the
// MTA-STS policy fetch (RFC 8461 §3.3). It exists so that the plugins do
// not link net/http (with its HTTP/2 bundle, hpack, textproto and mime:
// about 1 MB and 0.5 MiB of peak RSS) for a single request.
//
// Everything the server sends is bounded: the response head (64 KiB, 100
// lines per head, 8 interim 1xx responses), the body (by the caller's cap,
// framed by Content-Length, chunked, or the end of the connection) and the
// chunked trailer. Every read and write is bounded by the context's
// deadline; cancelling the context closes the connection. Redirects are not
// followed, no proxy is used, only identity content is accepted.
package httpsget

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Limits on what the server sends before the body.
const (
	MaxHeadBytes = 64 << 10 // the status lines and headers of all heads together
	MaxHeadLines = 100      // header lines of one head (or of the trailer)
	MaxInterim   = 8        // 1xx interim responses skipped
	maxChunkLine = 4 << 10  // one chunk-size line with its extensions
)

// ErrTooLarge is ReadBody's error for a body larger than its cap.
var ErrTooLarge = errors.New("the body is larger than the limit")

// BodyError is a failure of the connection while reading the body (not a
// malformed body, which is a plain error).
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return "reading the body: " + e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// Request is the one GET to make.
type Request struct {
	URL       *url.URL // https://HOST[:PORT]/PATH[?QUERY]
	Dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	TLS       *tls.Config // cloned; ALPN is set to http/1.1 alone
	UserAgent string
}

// Header holds a response's header fields under lower-case names.
type Header map[string][]string

// Get is the first value of the field name (any case), "" without one.
func (h Header) Get(name string) string {
	if v := h[strings.ToLower(name)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Response is the final (non-1xx) response's head; its body is read by
// ReadBody. Close it.
type Response struct {
	Proto      string // HTTP/1.0 or HTTP/1.1
	StatusCode int
	Status     string // code and reason as sent: "404 Not Found"
	Header     Header

	ctx  context.Context
	conn net.Conn
	br   *bufio.Reader
	stop func() bool
}

// Get dials req.URL's host with req.Dial, shakes hands with req.TLS, sends
// the GET and reads the response up to its body. Errors from the dial and
// the handshake are returned as they are; one that the context's end
// caused is the context's error.
func Get(ctx context.Context, req Request) (*Response, error) {
	u := req.URL
	if u.Scheme != "https" {
		return nil, fmt.Errorf("unsupported protocol scheme %q", u.Scheme)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, fmt.Errorf("no host in URL %q", u.String())
	}
	if port == "" {
		port = "443"
	}
	hostHeader := host
	if strings.Contains(host, ":") {
		hostHeader = "[" + host + "]"
	}
	if port != "443" {
		hostHeader += ":" + port
	}
	raw, err := req.Dial(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fromCtx(ctx, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = raw.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	cfg := &tls.Config{}
	if req.TLS != nil {
		cfg = req.TLS.Clone()
	}
	cfg.NextProtos = []string{"http/1.1"}
	conn := tls.Client(raw, cfg)
	r := &Response{ctx: ctx, conn: conn, stop: stop}
	if err := conn.HandshakeContext(ctx); err != nil {
		r.Close()
		return nil, fromCtx(ctx, err)
	}
	var b strings.Builder
	b.WriteString("GET " + requestTarget(u) + " HTTP/1.1\r\n")
	b.WriteString("Host: " + hostHeader + "\r\n")
	b.WriteString("User-Agent: " + req.UserAgent + "\r\n")
	b.WriteString("Accept-Encoding: identity\r\n")
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		r.Close()
		return nil, fromCtx(ctx, err)
	}
	r.br = bufio.NewReaderSize(conn, 4<<10)
	if err := r.readHead(); err != nil {
		r.Close()
		return nil, fromCtx(ctx, err)
	}
	return r, nil
}

// requestTarget is u's path and query for the request line. url.Parse
// leaves a query as given, so a space (or a byte past ASCII) in it would
// split the request line: such bytes are percent-encoded.
func requestTarget(u *url.URL) string {
	t := u.RequestURI()
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if c := t[i]; c <= ' ' || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Close ends the connection.
func (r *Response) Close() error {
	r.stop()
	return r.conn.Close()
}

// fromCtx is the context's error for one the deadline or cancellation
// caused (a read that hit the deadline may come back a moment before the
// context says it is done), else err.
func fromCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if _, ok := ctx.Deadline(); ok {
			return context.DeadlineExceeded
		}
	}
	return err
}

var (
	errHeadTooLarge = fmt.Errorf("the response header is larger than %d KiB", MaxHeadBytes>>10)
	errNoResponse   = errors.New("the server closed the connection without a response")
	errHeadCut      = errors.New("the server closed the connection within the response header")
)

// readHead reads the status line and header of the final response,
// skipping interim (1xx) ones.
func (r *Response) readHead() error {
	budget := MaxHeadBytes
	for interim := 0; ; interim++ {
		line, err := readLine(r.br, &budget, errHeadTooLarge)
		if err != nil {
			if err == io.EOF && interim == 0 {
				return errNoResponse
			}
			return headErr(err)
		}
		if err := r.parseStatus(line); err != nil {
			return err
		}
		if r.Header, err = readFields(r.br, &budget, "response header", errHeadTooLarge); err != nil {
			return headErr(err)
		}
		if r.StatusCode >= 200 || r.StatusCode == 101 {
			return nil
		}
		if interim == MaxInterim {
			return fmt.Errorf("more than %d interim (1xx) responses", MaxInterim)
		}
	}
}

func headErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errHeadCut
	}
	return err
}

// parseStatus reads "HTTP/1.x CODE REASON".
func (r *Response) parseStatus(line string) error {
	proto, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimLeft(rest, " ")
	code, _, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if (proto != "HTTP/1.1" && proto != "HTTP/1.0") || len(code) != 3 || err != nil || n < 100 || n > 599 {
		return fmt.Errorf("malformed HTTP status line %q", clip(line))
	}
	r.Proto, r.StatusCode, r.Status = proto, n, strings.TrimSpace(rest)
	return nil
}

// readLine reads one line ending in LF (CR LF or LF alone) that fits in
// *budget, which it charges; a longer one is tooLarge.
func readLine(br *bufio.Reader, budget *int, tooLarge error) (string, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		if len(line)+len(frag) > *budget {
			return "", tooLarge
		}
		line = append(line, frag...)
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) > 0:
			return "", io.ErrUnexpectedEOF
		case err != nil:
			return "", err
		}
		*budget -= len(line)
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return string(line), nil
	}
}

// readFields reads header (or trailer) fields up to the empty line: at
// most MaxHeadLines lines, within *budget. Folded lines (obs-fold) join
// the field before them.
func readFields(br *bufio.Reader, budget *int, what string, tooLarge error) (Header, error) {
	h := Header{}
	var last string
	for n := 0; ; n++ {
		line, err := readLine(br, budget, tooLarge)
		if err != nil {
			return nil, err
		}
		if line == "" {
			return h, nil
		}
		if n == MaxHeadLines {
			return nil, fmt.Errorf("the %s has more than %d lines", what, MaxHeadLines)
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				return nil, fmt.Errorf("malformed %s line %q", what, clip(line))
			}
			v := h[last]
			v[len(v)-1] += " " + strings.Trim(line, " \t")
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("malformed %s line %q", what, clip(line))
		}
		last = strings.ToLower(name)
		h[last] = append(h[last], strings.Trim(value, " \t"))
	}
}

// clip shortens server text quoted in an error.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// ReadBody reads the whole body, at most max bytes (ErrTooLarge past
// that), framed by Transfer-Encoding: chunked, Content-Length or the end of
// the connection. Another transfer coding, a Content-Encoding other than
// identity or a malformed framing is an error; so is a connection that
// fails (a *BodyError) or the context's end (its error).
func (r *Response) ReadBody(max int) ([]byte, error) {
	for _, ce := range r.Header["content-encoding"] {
		for _, c := range strings.Split(ce, ",") {
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return nil, fmt.Errorf("Content-Encoding %q is not supported (identity was asked for)", clip(strings.Join(r.Header["content-encoding"], ", ")))
			}
		}
	}
	if te := r.Header["transfer-encoding"]; len(te) > 0 {
		if len(te) != 1 || !strings.EqualFold(strings.TrimSpace(te[0]), "chunked") {
			return nil, fmt.Errorf("Transfer-Encoding %q is not supported (only chunked is)", clip(strings.Join(te, ", ")))
		}
		body, err := r.readChunked(max)
		return body, r.bodyErr(err)
	}
	if cl := r.Header["content-length"]; len(cl) > 0 {
		for _, v := range cl[1:] {
			if v != cl[0] {
				return nil, fmt.Errorf("conflicting Content-Length values %q", clip(strings.Join(cl, ", ")))
			}
		}
		n, err := strconv.ParseUint(cl[0], 10, 63)
		if err != nil {
			return nil, fmt.Errorf("malformed Content-Length %q", clip(cl[0]))
		}
		if n > uint64(max) {
			return nil, ErrTooLarge
		}
		body := make([]byte, n)
		_, err = io.ReadFull(r.br, body)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return body, r.bodyErr(err)
	}
	body, err := io.ReadAll(io.LimitReader(r.br, int64(max)+1))
	if err == nil && len(body) > max {
		err = ErrTooLarge
	}
	return body, r.bodyErr(err)
}

// bodyErr sorts a failure while reading the body: the context's end, a
// failed connection (*BodyError), or the body's own fault as it is.
func (r *Response) bodyErr(err error) error {
	var fe *formatError
	switch {
	case err == nil || err == ErrTooLarge:
		return err
	case errors.As(err, &fe):
		return fe.err
	}
	if err = fromCtx(r.ctx, err); errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errBodyCut{}
	}
	return &BodyError{err}
}

// errBodyCut is a connection that ended within the body, said so that an
// operator knows where to look rather than as Go's "unexpected EOF"; it
// still is io.ErrUnexpectedEOF to errors.Is.
type errBodyCut struct{}

func (errBodyCut) Error() string {
	return "the server closed the connection before the end of the body: look at the web server's log"
}
func (errBodyCut) Unwrap() error { return io.ErrUnexpectedEOF }

// formatError marks a malformed body, apart from a failed connection.
type formatError struct{ err error }

func (e *formatError) Error() string { return e.err.Error() }

func malformed(format string, args ...any) error {
	return &formatError{fmt.Errorf(format, args...)}
}

// readChunked decodes a chunked body (RFC 9112 §7.1): hex sizes,
// extensions ignored, the trailer read and dropped within bounds.
func (r *Response) readChunked(max int) ([]byte, error) {
	var body []byte
	for {
		budget := maxChunkLine
		line, err := readLine(r.br, &budget, malformed("a chunk-size line is longer than %d bytes", maxChunkLine))
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		size, _, _ := strings.Cut(line, ";")
		n, err := parseHex(strings.Trim(size, " \t"))
		if err != nil {
			return nil, malformed("malformed chunk size %q: %v", clip(line), err)
		}
		if n == 0 {
			tbudget := MaxHeadBytes
			if _, err := readFields(r.br, &tbudget, "chunked trailer", malformed("the chunked trailer is larger than %d KiB", MaxHeadBytes>>10)); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				} else if !isIO(err) {
					err = &formatError{err}
				}
				return nil, err
			}
			return body, nil
		}
		if n > uint64(max-len(body)) {
			return nil, ErrTooLarge
		}
		start := len(body)
		body = append(body, make([]byte, n)...)
		if _, err := io.ReadFull(r.br, body[start:]); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		budget = 2
		switch end, err := readLine(r.br, &budget, malformed("a chunk is longer than its size")); {
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		case err != nil:
			return nil, err
		case end != "":
			return nil, malformed("a chunk is longer than its size")
		}
	}
}

// isIO tells a connection's failure from readFields' own complaints.
func isIO(err error) bool {
	var ne net.Error
	return err == io.ErrUnexpectedEOF || errors.As(err, &ne) || errors.Is(err, net.ErrClosed)
}

// parseHex reads a chunk size: 1 to 16 hex digits, below 2^63.
func parseHex(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("no hex digits")
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, fmt.Errorf("%q is not a hex digit", c)
		}
		if n >= 1<<59 {
			return 0, errors.New("out of range")
		}
		n = n<<4 | uint64(d)
	}
	return n, nil
}
