// Package loadcheck is check_smtp_load: it sends many messages through an
// SMTP server, each session the shared session kit (probe.Plan run by
// probe.Run, messages by Session.Submit with PIPELINING), in a closed loop
// (--sessions at once) or an open loop (--rate messages per second, its
// latency corrected for coordinated omission), and reports throughput,
// accepted/rejected/failed counts, errors by class and by reply, and
// p50/p90/p99/max per phase from HDR histograms, failed attempts included.
package loadcheck

import (
	"cmp"
	"context"
	"math"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// Name is the plugin's name; Service prefixes its status line.
const (
	Name    = "check_smtp_load"
	Service = "SMTP LOAD"
)

// The bounds of a run. The defaults cap a run that names no size (a
// mistyped command must not flood a server); only --messages and
// --duration given explicitly raise them, up to the hard limits.
const (
	DefaultMessages = 1000
	DefaultDuration = 10 * time.Second
	// DefaultSessionTimeout bounds a session when --session-timeout is unset.
	DefaultSessionTimeout = 10 * time.Second
	DefaultTimeout        = "50" // -t: room for --duration's default, below the engines' 60 s
	maxMessages           = 10_000_000
	maxSessions           = 1000
	maxRate               = 100_000
	maxRecipients         = 1000
	maxSize               = 50 << 20
	// reportMargin is kept from -t for the report: sessions still under
	// way then are cut short (counted apart, not as failures).
	reportMargin = 500 * time.Millisecond
)

// Options are check_smtp_load's flags.
type Options struct {
	plugin.Common  `group:"Output and run"`
	plugin.Server  `group:"Connection"`
	secret.Options `group:"Secret stores"`

	Port int `short:"p" long:"port" value-name:"PORT" section:"Connection" description:"SMTP port (default: 25; 465 means implicit TLS)"`

	plugin.TLS `group:"TLS"`

	Login          login.Flags `group:"SMTP AUTH"`
	AllowPlaintext bool        `long:"allow-plaintext" section:"SMTP AUTH" description:"Send the credentials without TLS when there is none (said in the output)"`

	Sessions       int     `long:"sessions" value-name:"N" section:"Load" description:"Sessions at once: each sends its next message as soon as the last is answered (closed loop); with --rate, the most sessions open at once (default: 1; with --rate 10)"`
	Rate           float64 `long:"rate" value-name:"MSGS_PER_S" section:"Load" description:"Send this many messages per second whatever the server's pace (open loop); a late reply counts the messages it held back in the latency figures (coordinated omission corrected)"`
	Messages       int     `long:"messages" value-name:"N" section:"Load" description:"Stop after this many measured messages (default: 1000)"`
	Duration       float64 `long:"duration" value-name:"SECONDS" section:"Load" description:"Stop sending after this many seconds (default: 10, or what fits in a shorter -t; must fit in -t)"`
	PerSession     int     `long:"per-session" default:"1" value-name:"K" section:"Load" description:"Messages per connection: 1 opens a new session for each message"`
	Warmup         int     `long:"warmup" value-name:"N" section:"Load" description:"Send N messages first and leave them out of every figure"`
	SessionTimeout float64 `long:"session-timeout" value-name:"SECONDS" section:"Load" description:"A session (its setup and messages) not done by then fails as a timeout; with --per-session, a session takes no new message once half of it has passed, and the next opens a new session (default: 10, or what fits in a shorter -t)"`
	MaxConnFail    int     `long:"max-connect-failures" default:"10" value-name:"N" section:"Load" description:"Stop after N sessions in a row that could not be set up (connect, TLS, greeting, EHLO, AUTH)"`

	From       string   `unquote:"false" long:"from" value-name:"ADDRESS" section:"Message" description:"Sender (MAIL FROM and From:; default: the null sender <>)"`
	To         []string `unquote:"false" long:"to" value-name:"ADDRESS" section:"Message" description:"Recipient; repeat for more (required: use a discard address, every message is delivered)"`
	Recipients int      `long:"recipients" default:"1" value-name:"N" section:"Message" description:"Recipients per message, taken in turn from --to"`
	Size       int      `long:"size" value-name:"BYTES" section:"Message" description:"Pad each message to this many bytes (default: about 300)"`

	Warning    threshold.Range `short:"w" long:"warning" value-name:"RANGE" section:"Thresholds" description:"p99 in seconds of a message's total time (open loop: corrected) that gives WARNING"`
	Critical   threshold.Range `short:"c" long:"critical" value-name:"RANGE" section:"Thresholds" description:"p99 in seconds of a message's total time that gives CRITICAL"`
	WarnRate   threshold.Range `long:"warning-rate" value-name:"RANGE" section:"Thresholds" description:"Accepted messages per second that give WARNING, e.g. 100: for fewer than 100"`
	CritRate   threshold.Range `long:"critical-rate" value-name:"RANGE" section:"Thresholds" description:"Accepted messages per second that give CRITICAL"`
	WarnErrors threshold.Range `long:"warning-errors" default:"1" value-name:"RANGE" section:"Thresholds" description:"Per cent of messages rejected or failed that gives WARNING"`
	CritErrors threshold.Range `long:"critical-errors" value-name:"RANGE" section:"Thresholds" description:"Per cent of messages rejected or failed that gives CRITICAL"`
	NoProgress bool            `long:"no-progress" section:"Output and run" description:"No progress line on stderr (shown only when stderr is a terminal)"`

	// Derived by Validate.
	login    bool
	duration time.Duration
	sessTime time.Duration
	interval time.Duration // open loop: the time between one session's messages
	openLoop bool
}

// tlsUse: an MX on port 25 by default, STARTTLS when offered is not
// assumed: a load test measures what it is told to.
var tlsUse = plugin.TLSUse{Default: probe.TLSNone, FlagAdjust: plugin.FlagAdjust{
	Help: map[string]string{
		"starttls": "Use STARTTLS in every session (the default on port 587)",
		"no-tls":   "Do not encrypt (the default on port 25)",
		"hostname": "Host name or IP address of the server to load (required: there is no default)",
	},
	Default: map[string]string{"timeout": DefaultTimeout},
}}

// FlagAdjust words the shared flags for check_smtp_load.
func (*Options) FlagAdjust() plugin.FlagAdjust { return tlsUse.FlagAdjust }

// Validate refuses what cannot run, before anything is dialled, and
// derives the shape of the load.
func (o *Options) Validate(ctx context.Context) error {
	// No default server: a bare --to would otherwise flood the local MTA.
	if o.Host == "" && len(o.Args) == 0 {
		return plugin.Usagef("no server: give -H HOST, the server to load (there is no default: every message is delivered)")
	}
	if err := o.Server.Validate(&o.Common, &o.Port, 25, o.ImplicitAsked()); err != nil {
		return err
	}
	use := tlsUse
	if o.Port == 587 && !o.NoTLS {
		use.Default = probe.TLSStartTLS
	}
	if err := o.TLS.Validate(ctx, &o.Common, o.Port, use); err != nil {
		return err
	}
	if err := o.validateShape(); err != nil {
		return err
	}
	if err := o.validateMessage(); err != nil {
		return err
	}
	if o.login = o.Login.User != "" || o.Login.PasswordRef != "" || o.Login.TokenRef != "" || o.Login.OAuthTokenURL != ""; o.login {
		return o.Login.Validate(login.Names{})
	} else if o.Given("mech") {
		return plugin.Usagef("--mech without credentials: give --user and --password-ref, or leave --mech out to send without AUTH")
	}
	return nil
}

// validateShape checks the load's shape and bounds.
func (o *Options) validateShape() error {
	o.openLoop = o.Given("rate")
	if !o.Given("sessions") {
		o.Sessions = 1
		if o.openLoop {
			o.Sessions = 10
		}
	}
	if !o.Given("messages") {
		o.Messages = DefaultMessages
	}
	// Unset, the time bounds shrink to fit a short -t (a careless -t 5
	// must not be refused for a default it never chose); given, they are
	// checked as they are.
	limit := o.Timeout.Duration - reportMargin - time.Second
	if !o.Given("duration") {
		o.Duration = min(DefaultDuration, max(limit, 0)).Seconds()
	}
	if !o.Given("session-timeout") {
		// Inside the run's own end, so that a stalled session fails as
		// the server's timeout rather than being cut short by the run.
		o.SessionTimeout = max(min(DefaultSessionTimeout, limit), 100*time.Millisecond).Seconds()
	}
	switch {
	case o.Sessions < 1 || o.Sessions > maxSessions:
		return plugin.Usagef("--sessions %d: want 1 to %d", o.Sessions, maxSessions)
	case o.openLoop && !(o.Rate > 0 && o.Rate <= maxRate):
		return plugin.Usagef("--rate %g: want more than 0 and at most %d messages per second", o.Rate, maxRate)
	case o.Messages < 1 || o.Messages > maxMessages:
		return plugin.Usagef("--messages %d: want 1 to %d", o.Messages, maxMessages)
	case o.PerSession < 1 || o.PerSession > maxMessages:
		return plugin.Usagef("--per-session %d: want 1 or more messages per connection", o.PerSession)
	case o.Warmup < 0 || o.Warmup > maxMessages:
		return plugin.Usagef("--warmup %d: want 0 to %d messages", o.Warmup, maxMessages)
	case o.MaxConnFail < 1:
		return plugin.Usagef("--max-connect-failures %d: want 1 or more", o.MaxConnFail)
	case !(o.SessionTimeout >= 0.1 && o.SessionTimeout <= o.Timeout.Duration.Seconds()):
		return plugin.Usagef("--session-timeout %g: want 0.1 seconds up to -t (%s)", o.SessionTimeout, plugin.Secs(o.Timeout.Duration))
	}
	o.sessTime = time.Duration(o.SessionTimeout * float64(time.Second))
	// Compared as seconds: a huge --duration (1e300, Inf) overflows a Duration.
	if !(o.Duration > 0 && o.Duration <= limit.Seconds()) {
		return plugin.Usagef("--duration %g: want more than 0 and at most %s seconds, 1.5 s less than -t (%s): raise -t to run longer", o.Duration, plugin.Secs(max(limit, 0)), plugin.Secs(o.Timeout.Duration))
	}
	o.duration = time.Duration(o.Duration * float64(time.Second))
	if o.openLoop {
		// Each session sends on its own beat, Sessions/Rate apart; together
		// they make the rate asked for. --rate's bounds keep the beat above
		// 10 µs; a tiny rate would overflow a Duration.
		every := float64(o.Sessions) / o.Rate
		if every*float64(time.Second) >= math.MaxInt64 {
			return plugin.Usagef("--rate %g with --sessions %d: too slow to schedule (one message every %g s in each session); raise --rate or lower --sessions", o.Rate, o.Sessions, every)
		}
		o.interval = time.Duration(math.Round(every * float64(time.Second)))
	}
	return nil
}

// validateMessage checks the envelope: recipients must be named, a load
// test must never pick someone's mailbox on its own.
func (o *Options) validateMessage() error {
	switch {
	case len(o.To) == 0:
		return plugin.Usagef("no recipient: give --to ADDRESS (a discard address: every message is delivered)")
	case o.Recipients < 1 || o.Recipients > maxRecipients:
		return plugin.Usagef("--recipients %d: want 1 to %d per message", o.Recipients, maxRecipients)
	case o.Size < 0 || o.Size > maxSize:
		return plugin.Usagef("--size %d: want 0 to %d bytes", o.Size, maxSize)
	}
	for _, to := range o.To {
		if strings.TrimSpace(to) == "" {
			return plugin.Usagef("--to: an empty address; give a recipient")
		}
	}
	// Sent inside angle brackets: one of these would end the address early.
	for flag, addrs := range map[string][]string{"--from": {o.From}, "--to": o.To} {
		for _, a := range addrs {
			if strings.ContainsAny(a, "<> ") {
				return plugin.Usagef("%s %q: give the bare address, without <, > or spaces", flag, a)
			}
		}
	}
	return cmp.Or(plugin.WireText("--from", o.From), plugin.WireText("--to", o.To...))
}

// target is the server every session dials.
func (o *Options) target() probe.Target {
	t := probe.Target{Host: o.Host, Port: o.Port, Network: o.Network(), HeloName: o.HeloName()}
	o.ApplyTo(&t)
	return t
}

// recipients are message n's: --recipients of --to, in turn.
func (o *Options) recipients(n int) []string {
	to := make([]string, o.Recipients)
	for i := range to {
		to[i] = o.To[(n*o.Recipients+i)%len(o.To)]
	}
	return to
}
