package smtptest

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// ErrFaultClosed is returned by FaultConn methods interrupted by
// FaultServer.Close.
var ErrFaultClosed = errors.New("smtptest: fault server closed")

// maxFaultLine bounds ReadLine so a misbehaving client cannot make a test
// allocate without limit.
const maxFaultLine = 64 << 10

// FaultServer runs a script against every accepted connection, for testing
// how an SMTP client copes with broken or hostile servers.
type FaultServer struct {
	Addr string // host:port
	Port int

	ln     net.Listener
	script func(*FaultConn)
	done   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[*FaultConn]struct{}
	errs   []error

	closeOnce sync.Once
	closeErr  error
}

// StartFault listens on 127.0.0.1:0 and runs script in its own goroutine for
// each accepted connection; the connection is closed when script returns.
func StartFault(script func(c *FaultConn)) (*FaultServer, error) {
	return StartFaultAddr("tcp", "127.0.0.1:0", script)
}

// StartFaultAddr is StartFault on a chosen network and address, e.g.
// ("tcp6", "[::1]:0").
func StartFaultAddr(network, addr string, script func(c *FaultConn)) (*FaultServer, error) {
	if script == nil {
		return nil, errors.New("smtptest: nil fault script")
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, err
	}
	s := &FaultServer{
		Addr:   ln.Addr().String(),
		ln:     ln,
		script: script,
		done:   make(chan struct{}),
		conns:  make(map[*FaultConn]struct{}),
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		s.Port = ta.Port
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s, nil
}

// MustStartFault is StartFault that fails tb on error and closes the server
// on cleanup.
func MustStartFault(tb TB, script func(c *FaultConn)) *FaultServer {
	tb.Helper()
	s, err := StartFault(script)
	if err != nil {
		tb.Fatalf("smtptest: StartFault: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Fatalf("smtptest: fault server: %v", err)
		}
	})
	return s
}

func (s *FaultServer) acceptLoop() {
	defer s.wg.Done()
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			return // listener closed; loopback has no transient errors worth retrying
		}
		c := &FaultConn{raw: raw, conn: raw, r: bufio.NewReader(raw), done: s.done}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			raw.Close()
			return
		}
		s.conns[c] = struct{}{}
		// Safe: this loop's own count keeps the WaitGroup above zero.
		s.wg.Add(1)
		s.mu.Unlock()
		go s.run(c)
	}
}

func (s *FaultServer) run(c *FaultConn) {
	defer s.wg.Done()
	defer func() {
		c.raw.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	defer func() {
		// A panicking script must not kill the test binary from a
		// background goroutine; Close reports it instead.
		if p := recover(); p != nil {
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("smtptest: fault script panic: %v", p))
			s.mu.Unlock()
		}
	}()
	s.script(c)
}

// Close closes the listener and every connection, then waits for all script
// goroutines. Scripts blocked in ReadLine, Hang, Pause, Dribble or a TLS
// handshake are released. It reports any script panics.
func (s *FaultServer) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		conns := make([]*FaultConn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()

		close(s.done)
		err := s.ln.Close()
		for _, c := range conns {
			c.raw.Close() // the raw conn also unblocks TLS reads and handshakes
		}
		s.wg.Wait()
		s.closeErr = errors.Join(append([]error{err}, s.errs...)...)
	})
	return s.closeErr
}

// FaultConn is the server side of one fault-server connection. Its methods
// are meant for the script goroutine; Close and Reset may be called from
// anywhere. Errors are returned, never panicked.
type FaultConn struct {
	raw  net.Conn // accepted conn; closing it releases everything
	conn net.Conn // raw, or TLS over raw after StartTLS
	r    *bufio.Reader
	done <-chan struct{}
}

// RemoteAddr returns the client's address.
func (c *FaultConn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// Send writes each line followed by CRLF.
func (c *FaultConn) Send(lines ...string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return c.SendRaw([]byte(b.String()))
}

// SendRaw writes b unchanged, for malformed replies and bare LFs.
func (c *FaultConn) SendRaw(b []byte) error {
	_, err := c.conn.Write(b)
	return err
}

// Dribble writes s one byte at a time, pausing perByte between bytes, to
// exercise client read timeouts that reset on every byte.
func (c *FaultConn) Dribble(s string, perByte time.Duration) error {
	for i := 0; i < len(s); i++ {
		if i > 0 {
			if err := c.Pause(perByte); err != nil {
				return err
			}
		}
		if _, err := c.conn.Write([]byte{s[i]}); err != nil {
			return err
		}
	}
	return nil
}

// Pause sleeps for d, returning ErrFaultClosed early if the server closes.
// Scripts should use it instead of time.Sleep so Close never waits on them.
func (c *FaultConn) Pause(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.done:
		return ErrFaultClosed
	}
}

// ReadLine reads one CRLF- or LF-terminated line and strips the ending.
// On error the partial line read so far is returned.
func (c *FaultConn) ReadLine() (string, error) {
	var line []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			if len(line) > maxFaultLine {
				return string(line), errors.New("smtptest: line too long")
			}
			continue
		}
		if err != nil {
			return string(line), err
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return string(line), nil
	}
}

// Expect reads a line and checks that it starts with prefix, ignoring case.
func (c *FaultConn) Expect(prefix string) (string, error) {
	line, err := c.ReadLine()
	if err != nil {
		return line, err
	}
	if len(line) < len(prefix) || !strings.EqualFold(line[:len(prefix)], prefix) {
		return line, fmt.Errorf("smtptest: expected %q, got %q", prefix, line)
	}
	return line, nil
}

// Hang discards input and never replies, returning when the peer closes or
// the server is closed.
func (c *FaultConn) Hang() {
	_, _ = io.Copy(io.Discard, c.r)
}

// StartTLS performs a server-side TLS handshake; later Send and ReadLine
// calls go over TLS. Bytes the client pipelined after STARTTLS are fed to
// the handshake rather than lost in the plaintext buffer.
func (c *FaultConn) StartTLS(cfg *tls.Config) error {
	if cfg == nil {
		return errors.New("smtptest: StartTLS needs a tls.Config")
	}
	tc := tls.Server(&bufferedConn{Conn: c.conn, r: c.r}, cfg)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	return nil
}

// Close closes the connection (sending a TLS close_notify if applicable).
func (c *FaultConn) Close() error {
	err := c.conn.Close()
	if c.conn != c.raw {
		c.raw.Close()
	}
	return err
}

// Reset aborts the connection with a TCP RST instead of a FIN.
func (c *FaultConn) Reset() error {
	if tc, ok := c.raw.(*net.TCPConn); ok {
		if err := tc.SetLinger(0); err != nil {
			c.raw.Close()
			return err
		}
	}
	return c.raw.Close()
}

// Greet sends the standard "220 fault.test ESMTP" greeting.
func (c *FaultConn) Greet() error {
	return c.Send("220 fault.test ESMTP")
}

// EHLO expects EHLO, HELO or LHLO and answers with a proper multi-line
// 250 reply advertising exts (HELO gets a single line, as it cannot carry
// extensions).
func (c *FaultConn) EHLO(exts ...string) error {
	line, err := c.ReadLine()
	if err != nil {
		return err
	}
	verb, _, _ := strings.Cut(line, " ")
	switch strings.ToUpper(verb) {
	case "HELO":
		return c.Send("250 fault.test")
	case "EHLO", "LHLO":
	default:
		_ = c.Send("500 5.5.1 expected EHLO")
		return fmt.Errorf("smtptest: expected EHLO, got %q", line)
	}
	lines := make([]string, 0, len(exts)+1)
	all := append([]string{"fault.test"}, exts...)
	for i, e := range all {
		sep := "-"
		if i == len(all)-1 {
			sep = " "
		}
		lines = append(lines, "250"+sep+e)
	}
	return c.Send(lines...)
}

// AuthReply sends r as the answer to a client's SASL response. Where r is
// a further 334 challenge, a client that cancels the exchange with "*" gets
// "501 5.7.0 Authentication cancelled" (RFC 4954 section 4).
func (c *FaultConn) AuthReply(r string) {
	_ = c.Send(r)
	if strings.HasPrefix(r, "334") {
		if line, _ := c.ReadLine(); line == "*" {
			_ = c.Send("501 5.7.0 Authentication cancelled")
		}
	}
}

// bufferedConn lets the TLS handshake consume bytes already buffered by the
// plaintext reader.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// ReadFull reads exactly n bytes, for binary preambles such as PROXY v2.
func (c *FaultConn) ReadFull(n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(c.r, b)
	return b, err
}
