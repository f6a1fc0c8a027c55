package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/activity"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// Session is an open SMTP session and the facts gathered so far.
type Session struct {
	Target     Target
	Addr       netip.AddrPort // the address dialled
	Timings    []Timing
	Banner     smtp.Reply
	HelloVerb  string // EHLO, HELO or LHLO: what the server accepted
	Hello      smtp.Reply
	Domain     string          // the domain the server named in its EHLO reply
	Ext        smtp.Extensions // current extensions (inside TLS after STARTTLS)
	ExtPlain   smtp.Extensions // extensions offered before STARTTLS
	EHLOErr    *smtp.Reply     // the EHLO rejection that led to the HELO fallback
	TLS        *tls.ConnectionState
	VerifyErr  error // certificate verification result; nil when verified or skipped (Insecure)
	Pipelined  int   // plaintext bytes the server sent after its STARTTLS 220
	NoStartTLS bool  // STARTTLS was asked for but not offered: the session is plain
	// StartTLSReply is the reply to STARTTLS; zero when none was read.
	StartTLSReply smtp.Reply
	LoggedIn      bool // a login (AUTH) succeeded
	Transcript    *smtp.Transcript
	// CertVersion is the TLS version the server negotiated and sent its
	// certificate under, known even when the handshake failed after that;
	// 0 when no certificate came.
	CertVersion uint16

	conn   *smtp.Conn
	stop   func() bool
	hungUp bool // HangUp: no QUIT

	insecureErr error // the verdict on a chain the handshake did not verify (Target.Insecure)
}

// CertErr is why the server's certificate does not verify, nil when it
// does. Target.Insecure skips the check in the handshake; Run makes it
// once the session is over (checkInsecure), so that the output can say
// what the session went on with, and this only reads the verdict.
func (s *Session) CertErr() error {
	if s.Target.Insecure {
		return s.insecureErr
	}
	return s.VerifyErr
}

// checkInsecure verifies the chain a session under Target.Insecure went on
// with, for CertErr.
func (s *Session) checkInsecure(ctx context.Context) {
	if s.Target.Insecure && s.TLS != nil {
		s.insecureErr = s.Target.verify(ctx, s.TLS.PeerCertificates)
	}
}

// timed runs f and records its duration under phase, even when f fails.
func (s *Session) timed(ctx context.Context, phase Phase, f func() error) error {
	defer activity.Start(ctx, "in the "+string(phase)+" phase of "+s.String())()
	start := time.Now()
	err := f()
	s.Timings = append(s.Timings, Timing{phase, time.Since(start)})
	return err
}

// Duration returns the summed time of phase and whether it was measured.
func (s *Session) Duration(phase Phase) (time.Duration, bool) {
	var d time.Duration
	found := false
	for _, t := range s.Timings {
		if t.Phase == phase {
			d += t.Duration
			found = true
		}
	}
	return d, found
}

// Dial resolves the target once, connects, sends the PROXY header, runs the
// implicit TLS handshake and reads the banner. On error the returned session
// still holds the timings and transcript gathered so far; it is closed.
func Dial(ctx context.Context, t Target, tr *smtp.Transcript) (*Session, error) {
	s := &Session{Target: t, Transcript: tr}
	// --insecure too: CertErr still verifies, to say what was not checked.
	if t.TLS != TLSNone && t.Roots == nil {
		PreloadRoots(ctx)
	}
	err := s.dial(ctx)
	if e, ok := errors.AsType[*Error](err); ok && e.Phase == PhaseBanner && e.Kind == KindReply && InStep(e) {
		// RFC 5321 §3.1: a server that greets with 554 still waits for QUIT.
		_, _ = s.Quit(ctx, false)
	}
	if err != nil {
		s.Close()
	}
	return s, err
}

func (s *Session) dial(ctx context.Context) error {
	t := s.Target
	addr := t.Addr
	if !addr.IsValid() {
		err := s.timed(ctx, PhaseDNS, func() error {
			var err error
			addr, err = Resolve(ctx, t.Resolver, t.Network, t.Host)
			return err
		})
		if err != nil {
			return fail(ctx, PhaseDNS, err)
		}
	}
	s.Addr = netip.AddrPortFrom(addr, uint16(t.Port))
	var nc net.Conn
	err := s.timed(ctx, PhaseConnect, func() error {
		var err error
		d := net.Dialer{}
		nc, err = d.DialContext(ctx, "tcp", s.Addr.String())
		return err
	})
	if err != nil {
		return fail(ctx, PhaseConnect, err)
	}
	nc = quickAck(nc)
	s.Transcript.Note("connected to " + s.Addr.String())
	// The deadline bounds every read and write; closing on cancel also
	// unblocks a TLS handshake stuck in the kernel.
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	s.stop = context.AfterFunc(ctx, func() { nc.Close() })
	s.conn = smtp.NewConn(nc, s.Transcript)

	if t.Proxy != 0 {
		if err := s.timed(ctx, PhaseProxy, func() error { return s.sendProxy(nc) }); err != nil {
			return fail(ctx, PhaseProxy, err)
		}
	}
	if t.TLS == TLSImplicit {
		if err := s.timed(ctx, PhaseTLS, func() error { return s.handshake(ctx) }); err != nil {
			return tlsFail(ctx, PhaseTLS, err)
		}
	}
	err = s.timed(ctx, PhaseBanner, func() error {
		var err error
		s.Banner, err = s.conn.ReadReply()
		if err == nil {
			err = smtp.Expect(s.Banner, smtp.Greeting, 220)
		}
		return err
	})
	if err != nil && t.Proxy != 0 && errors.As(err, new(*smtp.UnsolicitedError)) {
		// A reply came with the greeting, before any command: the server
		// answered the PROXY header (it greets first, then reads it as a
		// command line). Read the answer to name it.
		if rep, rerr := s.conn.ReadReply(); rep.Code != 0 && (rerr == nil || errors.As(rerr, new(*smtp.UnsolicitedError))) {
			return proxyAnswered(rep)
		}
	}
	if re, ok := errors.AsType[*smtp.ReplyError](err); ok && t.Proxy != 0 && s.Banner.Code == 220 {
		// A 421 after a 220 greeting, before any command: the server
		// closes on the PROXY header it read as a command line.
		return proxyAnswered(re.Reply)
	}
	if err != nil {
		return fail(ctx, PhaseBanner, err)
	}
	return nil
}

// Resolve looks host up once. An IP literal is returned as is, but must
// match the family asked for.
func Resolve(ctx context.Context, r HostResolver, network, host string) (netip.Addr, error) {
	if network == "" {
		network = "ip"
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap()
		if (network == "ip4" && !a.Is4()) || (network == "ip6" && !a.Is6()) {
			return netip.Addr{}, fmt.Errorf("%s is not an %s address", host, FamilyName(network))
		}
		return a, nil
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, network, host)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("no %s address for %s", FamilyName(network), host)
	}
	return addrs[0].Unmap(), nil
}

// FamilyName words an address family for messages.
func FamilyName(network string) string {
	switch network {
	case "ip4":
		return "IPv4"
	case "ip6":
		return "IPv6"
	}
	return "IP"
}

func (s *Session) handshake(ctx context.Context) error {
	cfg := s.Target.tlsConfig(ctx, &s.VerifyErr)
	verify := cfg.VerifyConnection
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		s.CertVersion = cs.Version
		return verify(cs)
	}
	st, err := s.conn.UpgradeTLS(ctx, cfg)
	if err != nil {
		return err
	}
	s.TLS = st
	return nil
}

// tlsFail marks handshake errors that are not timeouts or closes as TLS errors.
func tlsFail(ctx context.Context, phase Phase, err error) *Error {
	e := fail(ctx, phase, err)
	if e.Kind == KindOther {
		e.Kind = KindTLS
	}
	return e
}

// Helo sends EHLO (LHLO for LMTP) and falls back to HELO when EHLO is refused
// with a 5xx, as RFC 5321 §4.1.4 allows.
func (s *Session) Helo(ctx context.Context) error {
	return s.hello(ctx, PhaseEHLO)
}

func (s *Session) hello(ctx context.Context, phase Phase) error {
	verb := "EHLO"
	if s.Target.LMTP {
		verb = "LHLO"
	}
	name := s.Target.HeloName
	if name == "" {
		name = "localhost"
	}
	err := s.timed(ctx, phase, func() error {
		rep, err := s.conn.Cmd(verb + " " + name)
		if err == nil && rep.Class() == 5 && verb == "EHLO" && phase == PhaseEHLO {
			refused := rep // rep is about to hold the HELO reply
			s.EHLOErr = &refused
			verb = "HELO"
			rep, err = s.conn.Cmd("HELO " + name)
		}
		if err == nil {
			err = smtp.Expect(rep, verb, 250)
		}
		s.Hello, s.HelloVerb = rep, verb
		return err
	})
	if err != nil {
		return fail(ctx, phase, err)
	}
	if verb == "HELO" {
		s.Ext = smtp.Extensions{}
	} else {
		s.Domain, s.Ext = smtp.ParseEHLO(s.Hello)
	}
	return nil
}

// ErrNoStartTLS is returned when STARTTLS was asked for but not advertised.
var ErrNoStartTLS = errors.New("server does not offer STARTTLS")

// StartTLS upgrades the session: STARTTLS, the handshake at once, then EHLO
// again (RFC 3207 §4.2), since extensions may differ inside TLS.
func (s *Session) StartTLS(ctx context.Context) error {
	if !s.Ext.Has("STARTTLS") {
		return &Error{Phase: PhaseStartTLS, Kind: KindReply, Err: ErrNoStartTLS}
	}
	err := s.timed(ctx, PhaseStartTLS, func() error {
		rep, err := s.conn.Cmd("STARTTLS")
		s.StartTLSReply = rep
		// RFC 3207 §4: nothing may follow the 220 before the handshake. Bytes
		// that did are a broken server or a man in the middle injecting
		// plaintext (CVE-2011-0411 class), never something to hand to TLS.
		if ue, ok := errors.AsType[*smtp.UnsolicitedError](err); ok && rep.Code == 220 {
			s.Pipelined = ue.Bytes
			return &Error{Phase: PhaseStartTLS, Kind: KindProtocol,
				Err: fmt.Errorf("%d bytes of plaintext followed the 220 reply to STARTTLS, before the TLS handshake", s.Pipelined)}
		}
		if err != nil {
			return err
		}
		if err := smtp.Expect(rep, "STARTTLS", 220); err != nil {
			return err
		}
		return s.handshake(ctx)
	})
	if err != nil {
		return tlsFail(ctx, PhaseStartTLS, err)
	}
	s.ExtPlain = s.Ext
	return s.hello(ctx, PhaseEHLOTLS)
}

// Cmd sends a command in phase and returns its reply. A 4xx/5xx reply is
// returned with a nil error: judging it is the caller's business.
func (s *Session) Cmd(ctx context.Context, phase Phase, line string) (smtp.Reply, error) {
	var rep smtp.Reply
	err := s.timed(ctx, phase, func() error {
		var err error
		rep, err = s.conn.Cmd(line)
		return err
	})
	if err != nil {
		return rep, fail(ctx, phase, err)
	}
	return rep, nil
}

// Auth runs a SASL exchange. The wire registers the client's secrets with
// the transcript as it sends them (smtp.Conn.Auth); a negative final reply
// comes back as an *Error of KindReply, any code but 235 as KindProtocol.
func (s *Session) Auth(ctx context.Context, c smtp.SASLClient) (smtp.Reply, error) {
	var rep smtp.Reply
	err := s.timed(ctx, PhaseAuth, func() error {
		var err error
		rep, err = s.conn.Auth(c)
		return err
	})
	if err != nil {
		return rep, fail(ctx, PhaseAuth, err)
	}
	s.LoggedIn = true
	return rep, nil
}

// Quit sends QUIT. With wait false it does not read the reply: for servers
// that drop the connection instead of answering (check_smtp's -q).
func (s *Session) Quit(ctx context.Context, wait bool) (smtp.Reply, error) {
	var rep smtp.Reply
	err := s.timed(ctx, PhaseQuit, func() error {
		if !wait {
			return s.conn.Send("QUIT", "QUIT")
		}
		var err error
		rep, err = s.conn.Cmd("QUIT")
		if ue, ok := errors.AsType[*smtp.UnsolicitedError](err); ok && rep.Code != 221 {
			return &LateReplyError{Read: rep, Next: ue}
		}
		if err == nil {
			err = smtp.Expect(rep, "QUIT", 221)
		}
		return err
	})
	s.Close()
	if err != nil {
		return rep, fail(ctx, PhaseQuit, err)
	}
	return rep, nil
}

// LateReplyError is a QUIT answered with a reply that is not 221 and then
// with more: the first was the reply to an earlier command, so the replies
// had been read one command late all along.
type LateReplyError struct {
	Read smtp.Reply             // the reply read for QUIT
	Next *smtp.UnsolicitedError // what followed it
}

func (e *LateReplyError) Error() string {
	return fmt.Sprintf("QUIT was answered %q and then %s: the server's replies ran one command late", e.Read.String(), e.Next.Line)
}

func (e *LateReplyError) Unwrap() error { return e.Next }

// Close closes the connection; it is safe to call more than once.
func (s *Session) Close() {
	if s.stop != nil {
		s.stop()
	}
	if s.conn != nil {
		s.conn.Close()
	}
}

// Encrypted reports whether the session runs over TLS.
func (s *Session) Encrypted() bool { return s.TLS != nil }

// String names the target for messages: "host (addr)" or "addr".
func (s *Session) String() string {
	addr := s.Addr.String()
	if !s.Addr.IsValid() {
		addr = net.JoinHostPort(s.Target.Host, strconv.Itoa(s.Target.Port))
	}
	if s.Addr.IsValid() && s.Target.Host != s.Addr.Addr().String() {
		return s.Target.Host + " (" + addr + ")"
	}
	return addr
}

// Establish runs EHLO and, in STARTTLS mode, the upgrade. A server that
// does not offer STARTTLS is reported through missingTLS, not as an error:
// the caller decides whether the plain session may go on.
func (s *Session) Establish(ctx context.Context) (missingTLS bool, err error) {
	if err := s.Helo(ctx); err != nil {
		return false, err
	}
	if s.Target.TLS != TLSStartTLS {
		return false, nil
	}
	err = s.StartTLS(ctx)
	if errors.Is(err, ErrNoStartTLS) {
		s.NoStartTLS = true
		return true, nil
	}
	return false, err
}
