package smtp

import (
	"bytes"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// fakeConn is a net.Conn without a socket: reads come from a fixed server
// script, writes are collected, like emersion/go-smtp's faker.
type fakeConn struct {
	r      io.Reader
	script *strings.Reader
	w      bytes.Buffer
	closed bool
}

// newFakeConn serves script one whole reply per Read, as a server sends
// its answer to each command; with oneByte each Read returns a single byte,
// so that a reply split across reads is exercised too.
func newFakeConn(script string, oneByte bool) *fakeConn {
	f := &fakeConn{script: strings.NewReader(script)}
	f.r = &wholeReplies{s: f.script}
	if oneByte {
		f.r = iotest.OneByteReader(f.script)
	}
	return f
}

// wholeReplies reads up to the end of the next complete reply at most: what
// a server sends before it waits for the next command. (Bytes that arrive
// with the reply before them are unsolicited: a Conn refuses them.)
type wholeReplies struct {
	s    *strings.Reader
	head []byte // the first bytes of the line being read
}

func (w *wholeReplies) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := w.s.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		p[n] = b
		n++
		if b != '\n' {
			if len(w.head) < 4 {
				w.head = append(w.head, b)
			}
			continue
		}
		last := len(w.head) < 4 || w.head[3] != '-'
		w.head = w.head[:0]
		if last {
			break
		}
	}
	return n, nil
}

func (f *fakeConn) Read(p []byte) (int, error)  { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error) { return f.w.Write(p) }
func (f *fakeConn) Close() error                { f.closed = true; return nil }
func (f *fakeConn) LocalAddr() net.Addr         { return fakeAddr("client") }
func (f *fakeConn) RemoteAddr() net.Addr        { return fakeAddr("server") }

func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// unread is how much of the server script the client has not consumed.
func (f *fakeConn) unread() int { return f.script.Len() }

type fakeAddr string

func (a fakeAddr) Network() string { return "fake" }
func (a fakeAddr) String() string  { return string(a) }

var _ net.Conn = (*fakeConn)(nil)

// readModes runs fn once with whole reads and once with one-byte reads.
func readModes(t *testing.T, fn func(t *testing.T, oneByte bool)) {
	t.Helper()
	for _, m := range []struct {
		name    string
		oneByte bool
	}{{"whole", false}, {"bytewise", true}} {
		t.Run(m.name, func(t *testing.T) { fn(t, m.oneByte) })
	}
}

// dial wraps a fake connection serving script in a Conn with a fresh
// transcript that knows secrets.
func dial(script string, oneByte bool, secrets ...string) (*Conn, *fakeConn, *Transcript) {
	fc := newFakeConn(script, oneByte)
	tr := NewTranscript()
	for _, s := range secrets {
		tr.AddSecret(s)
	}
	return NewConn(fc, tr), fc, tr
}

// checkLines compares a transcript with want exactly, line by line.
func checkLines(t *testing.T, tr *Transcript, want []string) {
	t.Helper()
	got := tr.Lines()
	if len(got) != len(want) {
		t.Errorf("transcript has %d lines, want %d:\n got: %s\nwant: %s", len(got), len(want), quoteLines(got), quoteLines(want))
		return
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("transcript line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func quoteLines(ls []string) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString("\n\t")
		b.WriteString(strconv.Quote(l))
	}
	return b.String()
}

// checkErr compares err's text exactly; want "" means no error.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("error = %q, want none", err)
	case want != "" && err == nil:
		t.Errorf("no error, want %q", want)
	case want != "" && err.Error() != want:
		t.Errorf("error = %q\n         want %q", err, want)
	}
}

// checkReply compares every field of a Reply.
func checkReply(t *testing.T, got, want Reply) {
	t.Helper()
	if got.Code != want.Code || got.Enhanced != want.Enhanced || !equalLines(got.Lines, want.Lines) {
		t.Errorf("reply = %#v\n  want %#v", got, want)
	}
}

// equalLines treats nil and empty alike.
func equalLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
