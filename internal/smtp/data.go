package smtp

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
)

// Batch is commands sent in one write, whose replies are read in order
// (RFC 2920 pipelining). Between its replies the server's next replies may
// already be waiting: that is the point of pipelining, not unsolicited
// data. After the last one nothing may wait, as after any reply.
type Batch struct {
	c       *Conn
	pending int
}

// SendBatch writes lines (CRLF appended to each) in one write and returns
// the batch whose replies Next reads. A line with CR, LF or NUL is refused
// before anything is sent.
func (c *Conn) SendBatch(lines ...string) (*Batch, error) {
	b := c.wbuf[:0]
	for _, l := range lines {
		if err := c.checkLine(l, l); err != nil {
			return nil, err
		}
		b = append(append(b, l...), "\r\n"...)
	}
	c.wbuf = b
	for _, l := range lines {
		c.tr.add("C", l)
	}
	if _, err := c.nc.Write(b); err != nil {
		return nil, err
	}
	return &Batch{c: c, pending: len(lines)}, nil
}

// Pending is how many replies are still to be read.
func (b *Batch) Pending() int { return b.pending }

// Next reads the next reply. The last one is read as ReadReply reads every
// reply: bytes that follow it are an error (see unsolicited).
func (b *Batch) Next() (Reply, error) {
	if b.pending == 0 {
		return Reply{}, fmt.Errorf("no reply is pending")
	}
	b.pending--
	if b.pending == 0 {
		return b.c.ReadReply()
	}
	rep, err := b.c.readOne()
	return b.c.scrubbed(rep), err
}

// dataChunk is the size of each write of a message: a large message goes
// out in pieces, each bounded by the connection's deadline, and a cancelled
// context stops it between two pieces.
const dataChunk = 64 << 10

// WriteData writes msg as the text that follows a 354 (RFC 5321 §4.5.2):
// its line ends made CRLF (a bare CR or LF too, which some servers would
// read as a line end and others not: the SMTP smuggling class), a dot
// doubled at the start of a line, then the end CRLF.CRLF. The transcript
// notes the size, not the text. The reply is read with ReadReply.
func (c *Conn) WriteData(ctx context.Context, msg []byte) error {
	_, err := c.WriteDataThen(ctx, msg)
	return err
}

// WriteDataThen is WriteData with lines (CRLF appended) in the same write
// after the message's end: with PIPELINING, QUIT may be the last command
// of the group the end of the message opens (RFC 2920 3.1), which saves a
// round trip. The batch reads the reply to the message, then one for each
// line.
func (c *Conn) WriteDataThen(ctx context.Context, msg []byte, lines ...string) (*Batch, error) {
	for _, l := range lines {
		if err := c.checkLine(l, l); err != nil {
			return nil, err
		}
	}
	msg = Canonical(msg)
	c.tr.Note("message of " + strconv.Itoa(len(msg)) + " bytes")
	w := chunkWriter{ctx: ctx, c: c, buf: c.wbuf[:0]}
	for rest := msg; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if line[0] == '.' {
			w.write([]byte{'.'})
		}
		w.write(line)
	}
	c.tr.add("C", ".")
	w.write([]byte(".\r\n"))
	for _, l := range lines {
		c.tr.add("C", l)
		w.write([]byte(l + "\r\n"))
	}
	return &Batch{c: c, pending: 1 + len(lines)}, w.flush()
}

// WriteBDAT writes "BDAT n LAST" and msg, its line ends made CRLF but not
// dot-stuffed (RFC 3030: the size says where it ends), as one stream. The
// reply is read with ReadReply.
func (c *Conn) WriteBDAT(ctx context.Context, msg []byte) error {
	msg = Canonical(msg)
	cmd := BDATCommand(len(msg))
	c.tr.add("C", cmd)
	c.tr.Note("message of " + strconv.Itoa(len(msg)) + " bytes")
	w := chunkWriter{ctx: ctx, c: c, buf: c.wbuf[:0]}
	w.write([]byte(cmd + "\r\n"))
	w.write(msg)
	return w.flush()
}

// BDATCommand is the command that sends n bytes as the last chunk.
func BDATCommand(n int) string { return "BDAT " + strconv.Itoa(n) + " LAST" }

// Canonical returns msg with every line ending CRLF: a bare LF or a bare CR
// becomes CRLF, and a last line without an end gets one. A message already
// in that form is returned as it is, without a copy.
func Canonical(msg []byte) []byte {
	if canonical(msg) {
		return msg
	}
	out := make([]byte, 0, len(msg)+len(msg)/32+2)
	for i := 0; i < len(msg); i++ {
		switch ch := msg[i]; {
		case ch == '\r' && i+1 < len(msg) && msg[i+1] == '\n':
			out = append(out, '\r', '\n')
			i++
		case ch == '\r' || ch == '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, ch)
		}
	}
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return out
}

func canonical(msg []byte) bool {
	for i, ch := range msg {
		switch {
		case ch == '\r' && (i+1 == len(msg) || msg[i+1] != '\n'):
			return false
		case ch == '\n' && (i == 0 || msg[i-1] != '\r'):
			return false
		}
	}
	return len(msg) == 0 || msg[len(msg)-1] == '\n'
}

// chunkWriter collects bytes and writes them in dataChunk pieces; the first
// error (or the context's end) stops it, and flush reports it.
type chunkWriter struct {
	ctx context.Context
	c   *Conn
	buf []byte
	err error
}

func (w *chunkWriter) write(p []byte) {
	for w.err == nil && len(p) > 0 {
		n := min(len(p), dataChunk-len(w.buf))
		w.buf = append(w.buf, p[:n]...)
		p = p[n:]
		if len(w.buf) == dataChunk {
			w.send()
		}
	}
}

func (w *chunkWriter) send() {
	if w.err == nil {
		w.err = w.ctx.Err()
	}
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.c.nc.Write(w.buf)
	}
	w.buf = w.buf[:0]
}

// flush sends what is left and keeps the buffer for the connection's next
// write.
func (w *chunkWriter) flush() error {
	w.send()
	w.c.wbuf = w.buf
	return w.err
}
