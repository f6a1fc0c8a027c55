package smtptest

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Config configures a Server. The zero value is a plain ESMTP server on
// 127.0.0.1 that accepts every message.
type Config struct {
	Addr   string      // "" → "127.0.0.1:0"
	Domain string      // greeting domain, "" → "mx.test"
	TLS    *tls.Config // nil → STARTTLS not offered

	// Implicit serves TLS from connect (SMTPS, port 465 style); needs TLS.
	Implicit bool

	// AuthRequiresTLS hides and refuses AUTH before TLS (submission style).
	AuthRequiresTLS bool

	// RequireAuth refuses MAIL with 530 5.7.0 until AUTH succeeded.
	RequireAuth bool

	// Users enables AUTH PLAIN and LOGIN when non-empty (user → password).
	Users map[string]string

	LMTP            bool
	MaxMessageBytes int64

	RejectRcpt map[string]*smtp.SMTPError // per-address (case-insensitive) RCPT reply
	RejectMail *smtp.SMTPError            // reply for every MAIL FROM

	// ErrorLog receives go-smtp's internal errors (failed handshakes,
	// broken connections); nil discards them so tests stay quiet.
	ErrorLog *log.Logger
}

// Message is a message accepted by a Server.
type Message struct {
	From string
	To   []string
	Data []byte
	User string // authenticated user, "" if none
	TLS  bool   // whether the transaction ran over TLS
}

// Server is a real go-smtp server bound to loopback.
type Server struct {
	Addr string // host:port
	Port int

	cfg    Config
	srv    *smtp.Server
	ln     *trackingListener
	served chan struct{}

	mu   sync.Mutex
	msgs []Message

	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// closingLogger drops the "use of closed network connection" noise that
// every open connection produces while Close tears it down.
type closingLogger struct {
	l       *log.Logger
	closing *atomic.Bool
}

func (c *closingLogger) Printf(format string, v ...any) {
	if !c.closing.Load() {
		c.l.Printf(format, v...)
	}
}

func (c *closingLogger) Println(v ...any) {
	if !c.closing.Load() {
		c.l.Println(v...)
	}
}

// Start listens and serves in the background until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Implicit && cfg.TLS == nil {
		return nil, errors.New("smtptest: Implicit requires TLS")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Domain == "" {
		cfg.Domain = "mx.test"
	}
	raw, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, err
	}

	s := &Server{cfg: cfg, served: make(chan struct{})}
	s.ln = newTrackingListener(raw)
	s.Addr = raw.Addr().String()
	s.Port = raw.Addr().(*net.TCPAddr).Port

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = cfg.Domain
	srv.LMTP = cfg.LMTP
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.AllowInsecureAuth = !cfg.AuthRequiresTLS
	// Assign only a non-nil *log.Logger: a typed nil in the interface
	// would crash go-smtp's connection goroutines.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if cfg.ErrorLog != nil {
		srv.ErrorLog = &closingLogger{l: cfg.ErrorLog, closing: &s.closing}
	}
	var ln net.Listener = s.ln
	if cfg.Implicit {
		// go-smtp's TLSConfig only drives STARTTLS; implicit TLS comes
		// from the listener (go-smtp then handshakes before greeting).
		ln = tls.NewListener(s.ln, cfg.TLS)
	} else {
		srv.TLSConfig = cfg.TLS
	}
	s.srv = srv

	go func() {
		defer close(s.served)
		_ = srv.Serve(ln) // returns once the listener is closed
	}()
	return s, nil
}

// MustStart is Start that fails tb on error and closes the server on cleanup.
func MustStart(tb TB, cfg Config) *Server {
	tb.Helper()
	s, err := Start(cfg)
	if err != nil {
		tb.Fatalf("smtptest: Start: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// Messages returns a copy of the messages delivered so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Close stops the listener, drops open connections and waits for every
// connection goroutine. go-smtp's own Close does not wait and its Shutdown
// does not drop connections, so the listener wrapper tracks connections and
// Shutdown is only used for its wait.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.closeErr = s.ln.Close() // no new conns; Serve returns
		s.ln.closeConns()
		<-s.served // after this, Serve can no longer add to its WaitGroup
		_ = s.srv.Shutdown(context.Background())
	})
	return s.closeErr
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{s: s, tls: isTLS}, nil
}

// session implements smtp.Session and smtp.AuthSession. go-smtp creates it
// at HELO/EHLO (not at connect) and again after STARTTLS.
type session struct {
	s    *Server
	tls  bool
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{
	Code:         530,
	EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message:      "Authentication required",
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.s.cfg.Users) == 0 {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if len(ss.s.cfg.Users) == 0 {
		return nil, smtp.ErrAuthUnsupported
	}
	check := func(user, pass string) error {
		want, ok := ss.s.cfg.Users[user]
		if !ok || want != pass {
			// A *smtp.SMTPError is sent verbatim (535 5.7.8); any other
			// error would become 454.
			return smtp.ErrAuthFailed
		}
		ss.user = user
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		// go-sasl only ships a LOGIN client, so the server side lives here.
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.cfg.RequireAuth && ss.user == "" {
		return errAuthRequired
	}
	if ss.s.cfg.RejectMail != nil {
		return ss.s.cfg.RejectMail
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	for addr, e := range ss.s.cfg.RejectRcpt {
		if e != nil && strings.EqualFold(addr, to) {
			return e
		}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err // e.g. smtp.ErrDataTooLarge → 552
	}
	m := Message{From: ss.from, To: append([]string(nil), ss.to...), Data: b, User: ss.user, TLS: ss.tls}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// loginServer implements the server side of the obsolete but still widely
// probed LOGIN mechanism: "Username:" then "Password:" challenges, with the
// username optionally sent as the initial response.
type loginServer struct {
	check    func(user, pass string) error
	user     string
	haveUser bool
}

func (l *loginServer) Next(resp []byte) (challenge []byte, done bool, err error) {
	if !l.haveUser {
		if resp == nil { // no initial response
			return []byte("Username:"), false, nil
		}
		l.user, l.haveUser = string(resp), true
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

// trackingListener remembers accepted connections so Close can drop them,
// including ones go-smtp has accepted but not yet registered.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func newTrackingListener(l net.Listener) *trackingListener {
	return &trackingListener{Listener: l, conns: make(map[*trackedConn]struct{})}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// Close is idempotent because both Server.Close and go-smtp close it.
func (l *trackingListener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.Listener.Close()
}

func (l *trackingListener) closeConns() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (c *trackedConn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		err = c.Conn.Close()
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return err
}
