package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrInjection rejects a command argument that would smuggle a second command.
var ErrInjection = errors.New("command contains CR, LF or NUL")

// Conn is a client connection speaking SMTP lines. It sets no deadlines: the
// caller bounds it with net.Conn deadlines and by closing it on cancellation.
type Conn struct {
	nc   net.Conn
	r    *bufio.Reader
	tr   *Transcript
	tls  bool
	wbuf []byte // the last write's buffer, kept: a session sends many alike (check_smtp_load)
}

// NewConn wraps nc. tr may be nil: nothing is recorded then, but the
// secrets AUTH sends are still scrubbed from the replies and errors (a
// server may echo them; check_smtp_load keeps no transcript without -v).
func NewConn(nc net.Conn, tr *Transcript) *Conn {
	if tr == nil {
		tr = &Transcript{quiet: true}
	}
	return &Conn{nc: nc, r: bufio.NewReaderSize(nc, MaxLineBytes), tr: tr}
}

// NetConn is the current underlying connection (a *tls.Conn after StartTLS).
func (c *Conn) NetConn() net.Conn { return c.nc }

// ReadReply reads one reply and records it. Registered secrets that a
// server echoes back are replaced in the reply and its errors, before
// anything quotes or shortens them, so that no message can show them.
func (c *Conn) ReadReply() (Reply, error) {
	rep, err := c.readReply()
	return c.scrubbed(rep), err
}

// readReply reads one reply, records it (scrubbed) and returns it as sent;
// a *ProtocolError's line is scrubbed. Anything the server sent after the
// reply is an error (see unsolicited).
func (c *Conn) readReply() (Reply, error) {
	rep, err := c.readOne()
	if err == nil {
		err = c.unsolicited()
	}
	return rep, err
}

// unsolicited reports bytes that followed a complete reply: this client
// pipelines only in a Batch, which reads its replies without this check
// until the last, so nothing may be waiting, and the next command would be
// credited with them (a false OK) or blamed for them. They are reported in
// the phase that read the reply they followed, the one the server broke,
// and not in a later one that may be ignored (-q) or never come. Bytes that
// arrive later are read as the next reply and judged there. A 421 is the
// server closing the connection (RFC 5321 §3.8): it is reported as that
// reply. After the STARTTLS 220 the bytes are the plaintext injection of
// CVE-2011-0411 (the caller words that).
func (c *Conn) unsolicited() error {
	n := c.r.Buffered()
	if n == 0 {
		return nil
	}
	b, _ := c.r.Peek(n)
	if bytes.HasPrefix(b, []byte("421")) && replyPrefix(b) {
		rep, err := c.readOne()
		if err != nil {
			return err
		}
		return &ReplyError{Reply: c.scrubbed(rep)}
	}
	line, _, whole := bytes.Cut(b, []byte("\n"))
	raw := c.tr.ScrubCut(string(line))
	if whole {
		raw = c.tr.Scrub(strings.TrimSuffix(string(line), "\r"))
	}
	return &UnsolicitedError{Bytes: n, Line: quote(raw)}
}

// readOne reads one reply and records it; see readReply.
func (c *Conn) readOne() (Reply, error) {
	rep, err := ReadReply(c.r)
	for i, l := range rep.Lines {
		sep := "-"
		if i == len(rep.Lines)-1 && err == nil {
			sep = " "
		}
		c.tr.add("S", strings.TrimRight(strconv.Itoa(rep.Code)+sep+l, " "))
	}
	var pe *ProtocolError
	if errors.As(err, &pe) && pe.raw != "" {
		if pe.cut {
			pe.raw = c.tr.ScrubCut(pe.raw)
		} else {
			pe.raw = c.tr.Scrub(pe.raw)
		}
		pe.Line = quote(pe.raw) // after scrubbing: the cut cannot halve a secret
	}
	return rep, err
}

// scrubbed is rep with the registered secrets replaced.
func (c *Conn) scrubbed(rep Reply) Reply {
	lines := make([]string, len(rep.Lines))
	for i, l := range rep.Lines {
		lines[i] = c.tr.Scrub(l)
	}
	rep.Lines = lines
	return rep
}

// Cmd sends one command line and reads the reply.
func (c *Conn) Cmd(line string) (Reply, error) {
	return c.cmd(line, line)
}

// CmdRedacted sends line but records shown in the transcript.
func (c *Conn) CmdRedacted(line, shown string) (Reply, error) {
	return c.cmd(line, shown)
}

func (c *Conn) cmd(line, shown string) (Reply, error) {
	if err := c.Send(line, shown); err != nil {
		return Reply{}, err
	}
	return c.ReadReply()
}

// Send writes one command line (CRLF appended) without reading a reply.
func (c *Conn) Send(line, shown string) error {
	if err := c.checkLine(line, shown); err != nil {
		return err
	}
	c.tr.add("C", shown)
	_, err := c.nc.Write([]byte(line + "\r\n"))
	return err
}

// checkLine refuses a command line that would end early and smuggle in
// another command.
func (c *Conn) checkLine(line, shown string) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		return fmt.Errorf("%w: %q", ErrInjection, c.tr.Scrub(shown))
	}
	return nil
}

// WriteRaw writes bytes as they are (PROXY protocol headers). note is recorded.
func (c *Conn) WriteRaw(b []byte, note string) error {
	c.tr.Note(note)
	_, err := c.nc.Write(b)
	return err
}

// UpgradeTLS runs the client handshake over the connection now, so that its
// time and its errors belong to this phase and not to the next command.
func (c *Conn) UpgradeTLS(ctx context.Context, cfg *tls.Config) (*tls.ConnectionState, error) {
	// The handshake reads through our buffer: bytes a server pipelined after
	// its 220 are then seen by TLS (and fail it) instead of vanishing.
	tc := tls.Client(&bufferedConn{Conn: c.nc, r: c.r}, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	st := tc.ConnectionState()
	c.nc = tc
	c.r = bufio.NewReaderSize(tc, MaxLineBytes)
	c.tls = true
	c.tr.Note(fmt.Sprintf("TLS established: %s, %s", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite)))
	return &st, nil
}

// TLS reports whether the connection is encrypted.
func (c *Conn) TLS() bool { return c.tls }

// Close closes the underlying connection.
func (c *Conn) Close() error { return c.nc.Close() }

// bufferedConn reads through a bufio.Reader that may hold bytes already.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
