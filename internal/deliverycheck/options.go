// Package deliverycheck is check_smtp_delivery: it submits a probe message
// through an SMTP server, finds it over IMAP by its header, measures the
// delay on our own clock, deletes it (never more than ours) and remembers
// the probes not yet seen, so that a late one is told from a lost one.
package deliverycheck

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
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
	Name    = "check_smtp_delivery"
	Service = "SMTP DELIVERY"
)

// DefaultTimeout is -t: a real delivery passes queues and filters, and the
// verdict must still come before the engines' own check timeouts (Nagios'
// service_check_timeout and Icinga 2's CheckCommand timeout: 60 s).
const DefaultTimeout = "50"

// Options are check_smtp_delivery's flags.
type Options struct {
	plugin.Common  `group:"Output and run"`
	plugin.Server  `group:"Connection"`
	secret.Options `group:"Secret stores"`

	Port int `short:"p" long:"port" value-name:"PORT" section:"Connection" description:"SMTP port (default: 587 with STARTTLS; 465 means implicit TLS; 25 for an MX, usually without AUTH)"`

	plugin.TLS `group:"TLS"`

	// The SMTP login; none for an MX on port 25.
	Login          login.Flags `group:"SMTP AUTH"`
	AllowPlaintext bool        `long:"allow-plaintext" section:"SMTP AUTH" description:"Send the SMTP credentials without TLS when there is none (said in the output)"`

	From     string   `unquote:"false" long:"from" value-name:"ADDRESS" section:"Message" description:"Sender of the probe (MAIL FROM and From:; default: --user when it is an address)"`
	To       []string `unquote:"false" long:"to" value-name:"ADDRESS" section:"Message" description:"Recipient of the probe, the mailbox checked over IMAP; repeat for more (default: --user when it is an address)"`
	Size     int      `long:"size" value-name:"BYTES" section:"Message" description:"Pad the probe to this many bytes, to test size limits"`
	EightBit bool     `long:"8bit" section:"Message" description:"Send a UTF-8 body (BODY=8BITMIME)"`
	UTF8     bool     `long:"smtputf8" section:"Message" description:"UTF-8 in the Subject too (SMTPUTF8)"`
	BDAT     bool     `long:"bdat" section:"Message" description:"Send the message with BDAT (CHUNKING) instead of DATA"`
	Instance string   `long:"instance" value-name:"NAME" section:"Message" description:"Names this check's probes, so that it cleans up only its own (default: a hash of the SMTP server, --from, --to and the IMAP server and user)"`

	IMAP IMAPServer `group:"IMAP"`

	// The IMAP login; the SMTP login's user and secret when not given.
	IMAPLogin login.Flags `group:"IMAP login" namespace:"imap"`

	PollInterval float64       `long:"poll-interval" default:"1" value-name:"SECONDS" section:"Delivery" description:"Search again this often when the server offers no IDLE (and the Junk folder while INBOX idles)"`
	JunkFolder   string        `long:"junk-folder" value-name:"NAME" section:"Delivery" description:"Junk folder searched after INBOX (default: the folder marked \\Junk)"`
	NoJunk       bool          `long:"no-junk" section:"Delivery" description:"Search INBOX only"`
	SendOnly     bool          `long:"send-only" section:"Delivery" description:"Submit the probe, do not look for it (no IMAP)"`
	IMAPOnly     bool          `long:"imap-only" section:"Delivery" description:"Send nothing: log in over IMAP, report late probes and remove stale ones"`
	StaleAge     time.Duration `long:"stale-age" default:"1h" value-name:"DURATION" section:"Delivery" description:"A probe of this instance older than this is removed from the mailbox, and one not seen by then is reported lost and forgotten"`
	StateDir     string        `long:"state-dir" value-name:"DIR" section:"Delivery" description:"Where the probes sent but not yet seen are kept (default: $XDG_STATE_HOME/smtpcheck or ~/.local/state/smtpcheck; /var/lib/smtpcheck for root); created 0700"`

	AuthservID  string `long:"authserv-id" value-name:"ID" section:"Delivery" description:"Trust the Authentication-Results headers this server (its authserv-id, often its host name) wrote into the probe, and show their SPF, DKIM and DMARC results"`
	RequireAuth string `long:"require-auth-results" value-name:"METHODS" section:"Delivery" description:"Comma-separated: spf, dkim, dmarc; each must pass in the trusted Authentication-Results (CRITICAL otherwise, WARNING for a temperror); needs --authserv-id"`

	Warning  threshold.Range `short:"w" long:"warning" value-name:"RANGE" section:"Thresholds" description:"Delivery delay in seconds (our DATA 250 to our IMAP sighting) that gives WARNING"`
	Critical threshold.Range `short:"c" long:"critical" value-name:"RANGE" section:"Thresholds" description:"Delivery delay in seconds that gives CRITICAL"`

	// extraHeaders go into the probe (MessageSpec.Extra); no flag sets
	// them: the real tests do.
	extraHeaders []string

	// Derived by Validate.
	requiredAuth []string      // --require-auth-results, split
	smtpLogin    bool          // the SMTP session logs in
	imapSame     bool          // the IMAP login is the SMTP login's
	imapMode     probe.TLSMode // how the IMAP session is encrypted
}

// IMAPServer are the flags of the mailbox server.
type IMAPServer struct {
	Host           string `long:"imap-host" value-name:"HOST" description:"IMAP server (default: -H)"`
	Port           int    `long:"imap-port" value-name:"PORT" description:"IMAP port (default: 993, implicit TLS; 143 means STARTTLS)"`
	StartTLS       bool   `long:"imap-starttls" description:"Use STARTTLS (the default on port 143)"`
	NoTLS          bool   `long:"imap-no-tls" description:"Do not encrypt the IMAP session (credentials then need --imap-allow-plaintext)"`
	SNIName        string `long:"imap-sni-name" value-name:"NAME" description:"SNI for the IMAP server (default: --sni-name when the IMAP host is -H, else --imap-host)"`
	VerifyName     string `long:"imap-verify-name" value-name:"NAME" description:"Verify the IMAP certificate for this name (default: the SNI name, else the IMAP host); --ca-file, --insecure and --min-tls apply too"`
	AllowPlaintext bool   `long:"imap-allow-plaintext" description:"Send the IMAP credentials without TLS (said in the output)"`
}

// tlsUse is how check_smtp_delivery uses the TLS flags: STARTTLS unless
// told otherwise (or port 465); the SMTP credentials follow the
// verification, and so do the IMAP ones.
var tlsUse = plugin.TLSUse{Default: probe.TLSStartTLS, FlagAdjust: plugin.FlagAdjust{
	Help: map[string]string{
		"no-tls":   "Do not encrypt the SMTP session at all, even on port 465 (credentials are then only sent with --allow-plaintext)",
		"insecure": "Send credentials even if a certificate (SMTP or IMAP) does not verify (said in the output)",
	},
	Default: map[string]string{"timeout": DefaultTimeout},
}}

// FlagAdjust words the shared flags for check_smtp_delivery.
func (*Options) FlagAdjust() plugin.FlagAdjust { return tlsUse.FlagAdjust }

// maxSize bounds --size: a probe is sent on every check.
const maxSize = 50 << 20

// Validate checks combinations and derives what the run needs.
func (o *Options) Validate(ctx context.Context) error {
	if err := o.Server.Validate(&o.Common, &o.Port, 587, o.ImplicitAsked()); err != nil {
		return err
	}
	if err := o.TLS.Validate(ctx, &o.Common, o.Port, tlsUse); err != nil {
		return err
	}
	if strings.Contains(o.Login.User, "@") && !o.IMAPOnly { // the common case: the account mails itself
		o.From = cmp.Or(o.From, o.Login.User)
		if len(o.To) == 0 {
			o.To = []string{o.Login.User}
		}
	}
	switch {
	case o.SendOnly && o.IMAPOnly:
		return plugin.Usagef("--send-only and --imap-only exclude each other")
	case !o.IMAPOnly && (o.From == "" || len(o.To) == 0):
		return plugin.Usagef("give the probe's --from and --to (or --imap-only to send nothing)")
	case o.Size < 0 || o.Size > maxSize:
		return plugin.Usagef("--size %d: want 0 to %d bytes", o.Size, maxSize)
	case !(o.PollInterval >= 0.1 && o.PollInterval <= 600):
		return plugin.Usagef("--poll-interval %g: want 0.1 to 600 seconds", o.PollInterval)
	case o.StaleAge < time.Minute:
		return plugin.Usagef("--stale-age %s: want at least 1m (a probe younger than that may still be on its way)", o.StaleAge)
	case o.NoJunk && o.JunkFolder != "":
		return plugin.Usagef("--no-junk and --junk-folder exclude each other")
	}
	if err := cmp.Or(plugin.WireText("--from", o.From), plugin.WireText("--to", o.To...), plugin.WireText("--junk-folder", o.JunkFolder)); err != nil {
		return err
	}
	if err := o.validateAuthResults(); err != nil {
		return err
	}
	if err := o.validateLogins(); err != nil {
		return err
	}
	if err := o.validateIMAP(); err != nil {
		return err
	}
	if o.Instance == "" {
		o.Instance = o.defaultInstance()
	}
	if err := checkInstance(o.Instance); err != nil {
		return err
	}
	if o.StateDir == "" && !o.SendOnly {
		dir, err := DefaultStateDir()
		if err != nil {
			return err
		}
		o.StateDir = dir
	}
	return nil
}

// validateAuthResults splits --require-auth-results.
func (o *Options) validateAuthResults() error {
	switch {
	case (o.AuthservID != "" || o.RequireAuth != "") && (o.SendOnly || o.IMAPOnly):
		return plugin.Usagef("--authserv-id and --require-auth-results judge the delivered probe: not with --send-only or --imap-only")
	case o.RequireAuth != "" && o.AuthservID == "":
		return plugin.Usagef("--require-auth-results needs --authserv-id: the Authentication-Results of which server to trust (often its host name)")
	case strings.ContainsFunc(o.AuthservID, func(r rune) bool { return r <= ' ' || r == ';' || r == 0x7f }):
		return plugin.Usagef("--authserv-id %q: a single word, as the server writes it before the first ';'", o.AuthservID)
	}
	if o.RequireAuth == "" {
		return nil
	}
	for m := range strings.SplitSeq(strings.ToLower(o.RequireAuth), ",") {
		m = strings.TrimSpace(m)
		if !slices.Contains(authMethods, m) {
			return plugin.Usagef("--require-auth-results %q: want a comma-separated list of %s", o.RequireAuth, strings.Join(authMethods, ", "))
		}
		if !slices.Contains(o.requiredAuth, m) {
			o.requiredAuth = append(o.requiredAuth, m)
		}
	}
	return nil
}

// asked reports whether any credential flag of l was given.
func asked(l *login.Flags) bool {
	return l.User != "" || l.PasswordRef != "" || l.TokenRef != "" || l.OAuthTokenURL != "" ||
		l.OAuthClientIDRef != "" || l.OAuthClientSecretRef != "" || l.OAuthScope != ""
}

// validateLogins: SMTP logs in when asked; IMAP logs in with its own
// credentials, else with the SMTP ones.
func (o *Options) validateLogins() error {
	o.smtpLogin = asked(&o.Login) && !o.IMAPOnly
	if o.smtpLogin || asked(&o.Login) {
		if err := o.Login.Validate(login.Names{}); err != nil {
			return err
		}
	} else if o.Given("mech") {
		return plugin.Usagef("--mech without credentials: give --user and --password-ref, or leave --mech out to send without AUTH")
	}
	if o.SendOnly {
		return nil
	}
	if !asked(&o.IMAPLogin) {
		if !asked(&o.Login) {
			return plugin.Usagef("no IMAP credentials: give --imap-user and --imap-password-ref (or --user and --password-ref for both servers), or --send-only")
		}
		o.imapSame = true
		return nil
	}
	return o.IMAPLogin.Validate(login.Names{Namespace: "imap"})
}

// validateIMAP derives the IMAP server, its port and its TLS mode.
func (o *Options) validateIMAP() error {
	m := &o.IMAP
	if o.SendOnly {
		for _, long := range []string{"imap-host", "imap-port", "imap-starttls", "imap-no-tls", "junk-folder", "no-junk", "imap-user", "imap-password-ref"} {
			if o.Given(long) {
				return plugin.Usagef("--%s and --send-only exclude each other: --send-only does not look for the probe", long)
			}
		}
		return nil
	}
	var err error
	if m.Host, err = plugin.HostName("--imap-host", m.Host); err != nil {
		return err
	}
	if m.SNIName, err = plugin.HostName("--imap-sni-name", m.SNIName); err != nil {
		return err
	}
	if m.VerifyName, err = plugin.HostName("--imap-verify-name", m.VerifyName); err != nil {
		return err
	}
	if m.Host == "" {
		m.Host = o.Host
		m.SNIName, m.VerifyName = cmp.Or(m.SNIName, o.SNIName), cmp.Or(m.VerifyName, o.TLS.VerifyName)
	}
	if m.StartTLS && m.NoTLS {
		return plugin.Usagef("--imap-starttls and --imap-no-tls exclude each other")
	}
	if m.Port == 0 && !o.Given("imap-port") {
		m.Port = 993
		if m.StartTLS || m.NoTLS {
			m.Port = 143
		}
	}
	if m.Port < 1 || m.Port > 65535 {
		return plugin.Usagef("--imap-port %d: want a port between 1 and 65535", m.Port)
	}
	switch {
	case m.NoTLS:
		o.imapMode = probe.TLSNone
	case m.StartTLS || m.Port == 143:
		o.imapMode = probe.TLSStartTLS
	default:
		o.imapMode = probe.TLSImplicit
	}
	if o.imapMode == probe.TLSNone && (o.Given("imap-sni-name") || o.Given("imap-verify-name")) {
		return plugin.Usagef("--imap-sni-name and --imap-verify-name need TLS, and --imap-no-tls turns it off")
	}
	return nil
}

// defaultInstance is stable per check definition: the same flags give the
// same name, another check's probes another.
func (o *Options) defaultInstance() string {
	user := o.IMAPLogin.User
	if o.imapSame {
		user = o.Login.User
	}
	parts := []string{o.Host, strconv.Itoa(o.Port), o.From, strings.Join(o.To, ","), o.IMAP.Host, strconv.Itoa(o.IMAP.Port), user}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "d" + hex.EncodeToString(sum[:6])
}

// target is the SMTP server.
func (o *Options) target() probe.Target {
	t := probe.Target{Host: o.Host, Port: o.Port, Network: o.Network(), HeloName: o.HeloName()}
	o.ApplyTo(&t)
	return t
}

// imapTarget is the IMAP server, verified with the same roots and limits.
func (o *Options) imapTarget() probe.Target {
	t := probe.Target{Host: o.IMAP.Host, Port: o.IMAP.Port, Network: o.Network()}
	o.ApplyTo(&t)
	t.TLS, t.ServerName, t.VerifyName = o.imapMode, o.IMAP.SNIName, o.IMAP.VerifyName
	return t
}

// poll is --poll-interval.
func (o *Options) poll() time.Duration {
	return time.Duration(o.PollInterval * float64(time.Second))
}
