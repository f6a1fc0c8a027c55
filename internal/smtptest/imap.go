package smtptest

import (
	"bytes"
	"crypto/tls"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPConfig shapes an in-memory IMAP server (go-imap's memory server).
type IMAPConfig struct {
	User, Password string
	TLS            *tls.Config // nil: plaintext
	Implicit       bool        // TLS from the first byte (IMAPS); else STARTTLS when TLS is set
	Caps           []imap.Cap  // beside IMAP4rev1; nil: UIDPLUS and MOVE
	NoIdle         bool        // strip IDLE from the capabilities
	// Special marks folders with SPECIAL-USE attributes (\Junk, \Trash),
	// in LIST's answers; Folders are created besides INBOX.
	Special map[string]imap.MailboxAttr
	Folders []string
}

// IMAPServer is an in-memory IMAP server on loopback.
type IMAPServer struct {
	Port int
	User *imapmemserver.User
	Log  *LockedBuffer // everything the server read and wrote
}

// StartIMAP starts an IMAP server for the test; it stops at the test's end.
func StartIMAP(tb TB, cfg IMAPConfig) *IMAPServer {
	tb.Helper()
	mem := imapmemserver.New()
	s := &IMAPServer{User: imapmemserver.NewUser(cfg.User, cfg.Password), Log: &LockedBuffer{}}
	mem.AddUser(s.User)
	for _, f := range append([]string{"INBOX"}, cfg.Folders...) {
		if err := s.User.Create(f, nil); err != nil {
			tb.Fatalf("create %s: %v", f, err)
		}
	}
	caps := imap.CapSet{imap.CapIMAP4rev1: {}}
	if cfg.Caps == nil {
		cfg.Caps = []imap.Cap{imap.CapUIDPlus, imap.CapMove}
	}
	for _, c := range cfg.Caps {
		caps[c] = struct{}{}
	}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return mem.NewSession(), nil, nil
		},
		Caps:         caps,
		InsecureAuth: cfg.TLS == nil || cfg.Implicit,
		DebugWriter:  s.Log,
		Logger:       nopLogger{},
	}
	if cfg.TLS != nil && !cfg.Implicit {
		opts.TLSConfig = cfg.TLS
	}
	srv := imapserver.New(opts)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	s.Port = raw.Addr().(*net.TCPAddr).Port
	var ln net.Listener = raw
	if cfg.TLS != nil && cfg.Implicit {
		ln = tls.NewListener(raw, cfg.TLS)
	}
	ln = &rewriteListener{Listener: ln, cfg: cfg}
	go func() { _ = srv.Serve(ln) }()
	tb.Cleanup(func() { _ = srv.Close() })
	return s
}

// Deliver stores a message in folder as a mail server would (LF line ends
// become CRLF).
func (s *IMAPServer) Deliver(tb TB, folder string, msg []byte, date time.Time, flags ...imap.Flag) {
	tb.Helper()
	msg = bytes.ReplaceAll(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
	if _, err := s.User.Append(folder, bytes.NewReader(msg), &imap.AppendOptions{Time: date, Flags: flags}); err != nil {
		tb.Fatalf("append to %s: %v", folder, err)
	}
}

// rewriteListener edits what the server says, line by line, to make a
// server go-imap's cannot be configured to be: without IDLE, with
// SPECIAL-USE attributes on its folders. (Not under STARTTLS, which the
// server starts below it.)
type rewriteListener struct {
	net.Listener
	cfg IMAPConfig
}

func (l *rewriteListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &rewriteConn{Conn: c, cfg: l.cfg}, nil
}

type rewriteConn struct {
	net.Conn
	cfg IMAPConfig
}

var listLine = regexp.MustCompile(`^\* LIST \(([^)]*)\) "/" (.*)$`)

func (c *rewriteConn) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\r\n")
	for i, line := range lines {
		body := strings.TrimSuffix(line, "\r\n")
		if c.cfg.NoIdle && strings.Contains(body, "CAPABILITY") {
			body = strings.ReplaceAll(body, " IDLE", "")
		}
		if m := listLine.FindStringSubmatch(body); m != nil {
			if a, ok := c.cfg.Special[strings.Trim(m[2], `"`)]; ok {
				body = strings.TrimSpace(`* LIST (`+m[1]+` `+string(a)) + `) "/" ` + m[2]
				body = strings.Replace(body, "( ", "(", 1)
			}
		}
		if strings.HasSuffix(line, "\r\n") {
			body += "\r\n"
		}
		lines[i] = body
	}
	if _, err := c.Conn.Write([]byte(strings.Join(lines, ""))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// LockedBuffer is a bytes.Buffer safe for concurrent writers.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
