// Package imapbox is the IMAP side of check_smtp_delivery: log in to a
// mailbox, wait for a probe message by its header, read its header section
// and delete it again, never more than ours. It hides go-imap v2 behind its
// own types, so that no plugin imports it.
//
// Why a wrapper: go-imap v2 is a beta, takes no context and sets its own
// 30 s (literal: 5 min) deadline on the socket before every read and write.
// The socket it gets here clamps every deadline to the session's, and
// context.AfterFunc closes it when the context ends, so that no call
// outlives -t; a call that fails because of that is reported as a timeout
// in its phase.
//
// A run: Dial (connect, IMAPS or STARTTLS, greeting) → Login → Wait (or
// Find) → Headers → Delete, Stale + Delete → Close. Every step is timed
// in Box.Timings under its phase; every failure is an *Error naming its
// phase and kind, whose Probe method hands it to plugin.FailureState.
package imapbox

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/smtpcheck/smtpcheck/internal/activity"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
)

// The phases of an IMAP session, named like probe's phases so that they
// serve as perfdata labels beside them.
const (
	PhaseDNS      probe.Phase = "imap_dns"
	PhaseConnect  probe.Phase = "imap_connect"
	PhaseTLS      probe.Phase = "imap_tls" // implicit TLS handshake (IMAPS)
	PhaseGreeting probe.Phase = "imap_greeting"
	PhaseStartTLS probe.Phase = "imap_starttls" // greeting, STARTTLS and handshake
	PhaseLogin    probe.Phase = "imap_login"
	PhaseSelect   probe.Phase = "imap_select" // LIST of the special folders and SELECT
	PhaseSearch   probe.Phase = "imap_search" // searching and waiting
	PhaseFetch    probe.Phase = "imap_fetch"
	PhaseCleanup  probe.Phase = "imap_cleanup"
	PhaseLogout   probe.Phase = "imap_logout"
)

// Config is the mailbox server and how to talk to it.
type Config struct {
	// Target: Host, Port, Addr, Network, Resolver and the TLS fields as
	// plugin.TLS.ApplyTo fills them. TLS is TLSImplicit for IMAPS (993),
	// TLSStartTLS for STARTTLS (143) or TLSNone; the certificate is
	// verified like SMTP's (names, --ca-file roots, --insecure, --min-tls).
	// HeloName, LMTP and Proxy are not used.
	Target probe.Target
	// Secrets sent are registered here, and server text leaves this
	// package only through it. nil: a private set.
	Redact *redact.Set
	// Transcript, if not nil, gets the lines of the session, scrubbed
	// through Redact, for -v: at most MaxTranscript, each cut at 200
	// bytes. Give it only when they are shown.
	Transcript Noter
}

// Box is an open IMAP session and the facts gathered so far.
type Box struct {
	Addr      netip.AddrPort
	Timings   []probe.Timing
	TLS       *tls.ConnectionState
	VerifyErr error    // why the certificate does not verify; nil when it does or Insecure
	CertErr   error    // the same, also checked under Insecure: what was not checked
	Caps      []string // capabilities, as last seen (after login)
	Preauth   bool     // the server greeted with PREAUTH: no login
	User      string   // the user logged in as

	cfg      Config
	ctx      context.Context // the session's: its end is every call's timeout
	c        *imapclient.Client
	stop     func() bool
	notify   chan struct{} // a mailbox update arrived (EXISTS during IDLE)
	selected string        // the folder selected; "" when none
	inbox    inboxMark     // INBOX as last selected
	readOnly bool          // selected by EXAMINE
	folders  *folders      // LIST's answer, once asked
	debug    *debugLines   // go-imap's debug stream: counts lines, feeds cfg.Transcript
	meter    meter         // what the server sent in the current step
}

// Dial connects to the server, runs implicit TLS or STARTTLS and reads the
// greeting. ctx bounds the whole session, to its Close: every later call
// fails as a timeout once it ends. On error the Box still holds the
// timings gathered so far; it is closed.
func Dial(ctx context.Context, cfg Config) (*Box, error) {
	if cfg.Redact == nil {
		cfg.Redact = &redact.Set{}
	}
	b := &Box{cfg: cfg, ctx: ctx, notify: make(chan struct{}, 1)}
	b.meter.limit = MaxStepRead
	if cfg.Target.TLS != probe.TLSNone && cfg.Target.Roots == nil {
		probe.PreloadRoots(ctx)
	}
	if err := b.dial(ctx); err != nil {
		b.abort()
		return b, err
	}
	return b, nil
}

func (b *Box) dial(ctx context.Context) error {
	t := b.cfg.Target
	addr := t.Addr
	if !addr.IsValid() {
		err := b.timed(ctx, PhaseDNS, func() error {
			var err error
			addr, err = probe.Resolve(ctx, t.Resolver, t.Network, t.Host)
			return err
		})
		if err != nil {
			return b.fail(ctx, PhaseDNS, err)
		}
	}
	b.Addr = netip.AddrPortFrom(addr, uint16(t.Port))
	var nc net.Conn
	err := b.timed(ctx, PhaseConnect, func() error {
		var err error
		nc, err = (&net.Dialer{}).DialContext(ctx, "tcp", b.Addr.String())
		return err
	})
	if err != nil {
		return b.fail(ctx, PhaseConnect, err)
	}
	dl, _ := ctx.Deadline()
	nc = &meteredConn{Conn: &boundConn{Conn: nc, deadline: dl}, m: &b.meter}
	_ = nc.SetDeadline(dl)
	raw := nc // nc becomes the TLS connection below; closing this one ends both
	b.stop = context.AfterFunc(ctx, func() { raw.Close() })

	opts := &imapclient.Options{
		DebugWriter: b.debugWriter(),
		TLSConfig:   b.tlsConfig(ctx),
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(*imapclient.UnilateralDataMailbox) { b.wake() },
		},
	}
	switch t.TLS {
	case probe.TLSStartTLS:
		// go-imap reads the greeting and upgrades in one call.
		err = b.timed(ctx, PhaseStartTLS, func() error {
			var err error
			b.c, err = imapclient.NewStartTLS(nc, opts)
			return err
		})
		if err != nil {
			nc.Close()
			return b.tlsFail(ctx, PhaseStartTLS, err)
		}
	case probe.TLSImplicit:
		tc := tls.Client(nc, opts.TLSConfig)
		if err := b.timed(ctx, PhaseTLS, func() error { return tc.HandshakeContext(ctx) }); err != nil {
			nc.Close()
			return b.tlsFail(ctx, PhaseTLS, err)
		}
		nc = tc
	}
	if b.c == nil {
		b.c = imapclient.New(nc, opts)
	}
	err = b.timed(ctx, PhaseGreeting, func() error {
		if err := b.c.WaitGreeting(); err != nil {
			return err
		}
		b.Caps = capList(b.c.Caps())
		return nil
	})
	if err != nil {
		return b.fail(ctx, PhaseGreeting, err)
	}
	b.Preauth = b.c.State() == imap.ConnStateAuthenticated
	return nil
}

// debugWriter is go-imap's DebugWriter: it counts the lines of a step
// and keeps the transcript's, if asked.
func (b *Box) debugWriter() io.Writer {
	b.debug = &debugLines{set: b.cfg.Redact, out: b.cfg.Transcript, m: &b.meter}
	return b.debug
}

// TLSMode is how the session was to be encrypted.
func (b *Box) TLSMode() probe.TLSMode { return b.cfg.Target.TLS }

// Encrypted reports whether the session runs inside TLS.
func (b *Box) Encrypted() bool { return b.TLS != nil }

// String names the server in messages: "IMAP 192.0.2.1:993".
func (b *Box) String() string {
	t := b.cfg.Target
	hp := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	if b.Addr.IsValid() && b.Addr.Addr().String() != t.Host {
		hp += " (" + b.Addr.Addr().String() + ")"
	}
	return "IMAP " + hp
}

// Duration returns the summed time of phase and whether it was measured.
func (b *Box) Duration(phase probe.Phase) (time.Duration, bool) {
	var d time.Duration
	found := false
	for _, t := range b.Timings {
		if t.Phase == phase {
			d, found = d+t.Duration, true
		}
	}
	return d, found
}

// timed runs f and records its duration under phase, even when f fails.
func (b *Box) timed(ctx context.Context, phase probe.Phase, f func() error) error {
	defer activity.Start(ctx, "in the "+string(phase)+" phase of "+b.String())()
	b.meter.step()
	start := time.Now()
	err := f()
	b.Timings = append(b.Timings, probe.Timing{Phase: phase, Duration: time.Since(start)})
	return err
}

// Close logs out politely while the session's deadline allows and closes
// the connection. A failed LOGOUT is returned but ends nothing: the
// session's facts stand.
func (b *Box) Close(ctx context.Context) error {
	if b.c == nil {
		return nil
	}
	var err error
	if ctx.Err() == nil {
		if err = b.timed(ctx, PhaseLogout, func() error { return b.c.Logout().Wait() }); err != nil {
			err = b.fail(ctx, PhaseLogout, err)
		}
	}
	b.abort()
	return err
}

// abort closes the connection without a word.
func (b *Box) abort() {
	if b.c != nil {
		_ = b.c.Close()
	}
	if b.stop != nil {
		b.stop()
	}
	if b.debug != nil {
		b.debug.flush()
	}
}

// wake notes a mailbox update for a waiting IDLE.
func (b *Box) wake() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

func capList(cs imap.CapSet) []string {
	var l []string
	for c := range cs {
		l = append(l, string(c))
	}
	slices.Sort(l)
	return l
}

// has reports whether the server offers c (IMAP4rev2 implies UIDPLUS, MOVE).
func (b *Box) has(c imap.Cap) bool { return b.c.Caps().Has(c) }

// boundConn keeps every deadline go-imap sets within the session's: it
// sets its own fixed timeouts, or none, before each read and write.
type boundConn struct {
	net.Conn
	deadline time.Time // zero: no bound
}

func (c *boundConn) bound(t time.Time) time.Time {
	if !c.deadline.IsZero() && (t.IsZero() || t.After(c.deadline)) {
		return c.deadline
	}
	return t
}

func (c *boundConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.bound(t)) }
func (c *boundConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.bound(t)) }
func (c *boundConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.bound(t)) }
