// Package conncheck is check_smtp_conn: it drives a probe session through the
// steps the options ask for and judges what it saw.
package conncheck

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// Name is the plugin's name; Service prefixes its status line.
const (
	Name    = "check_smtp_conn"
	Service = "SMTP"
)

// Options are check_smtp_conn's flags: every flag of monitoring-plugins'
// check_smtp, with the same meaning, plus our own.
type Options struct {
	plugin.Common `group:"Output and run"`
	plugin.Server `group:"Connection"`

	Port  int  `short:"p" long:"port" value-name:"PORT" section:"Connection" description:"TCP port (default: 25, or 465 with -s); port 465 means implicit TLS unless -S or --no-tls is given (check_smtp spoke plaintext there and timed out at the banner)"`
	LMTP  bool `short:"L" long:"lmtp" section:"Connection" description:"Speak LMTP (LHLO instead of EHLO)"`
	Proxy bool `short:"r" long:"proxy" section:"Connection" description:"Send a PROXY protocol v1 header with the real addresses first"`

	ProxyVersion int `long:"proxy-version" choice:"1" choice:"2" value-name:"VERSION" section:"Connection" description:"Send a PROXY protocol header of this version first"`

	plugin.TLS `group:"TLS"`
	Verify     bool   `long:"verify" section:"TLS" description:"CRITICAL if the certificate does not verify (default: only reported, as check_smtp does)"`
	CertDays   string `short:"D" long:"certificate" value-name:"WARN[,CRIT]" section:"TLS" description:"Minimum days of certificate validity left (implies STARTTLS unless -s or port 465)"`
	IgnoreExp  bool   `long:"ignore-certificate-expiration" section:"TLS" description:"Report the certificate's days left but never alert on them"`

	Expect      string   `short:"e" long:"expect" default:"220" value-name:"TEXT" section:"SMTP session" description:"Text expected in the banner or EHLO reply; WARNING if missing"`
	ExpectRegex string   `long:"expect-regex" value-name:"REGEX" section:"SMTP session" description:"Regular expression the banner must match; WARNING if not"`
	RequireExt  []string `long:"require-ext" value-name:"KEYWORD" section:"SMTP session" description:"CRITICAL unless EHLO offers this extension (repeatable)"`
	ForbidExt   []string `long:"forbid-ext" value-name:"KEYWORD" section:"SMTP session" description:"CRITICAL if EHLO offers this extension (repeatable)"`

	From      string   `unquote:"false" short:"f" long:"from" value-name:"ADDRESS" section:"Transaction" description:"Send MAIL FROM with this address; its reply is judged"`
	MailFrom  string   `unquote:"false" long:"mail-from" value-name:"ADDRESS" section:"Transaction" description:"Same as --from"`
	Rcpt      []string `unquote:"false" long:"rcpt" value-name:"ADDRESS" section:"Transaction" description:"Send RCPT TO for this address after MAIL FROM (repeatable; default sender <>)"`
	Commands  []string `unquote:"false" short:"C" long:"command" value-name:"COMMAND" section:"Transaction" description:"Send this command after MAIL/RCPT (repeatable)"`
	Responses []string `unquote:"false" short:"R" long:"response" value-name:"REGEX" section:"Transaction" description:"Expected reply to the matching -C, an extended regex; WARNING if it does not match"`

	AuthType       string `short:"A" long:"authtype" value-name:"LOGIN|PLAIN" section:"AUTH" description:"Authenticate with this SASL mechanism"`
	AuthUser       string `unquote:"false" short:"U" long:"authuser" value-name:"USER" section:"AUTH" description:"User for -A"`
	AuthPass       string `unquote:"false" short:"P" long:"authpass" value-name:"PASSWORD" section:"AUTH" description:"Password for -A (visible to other users: check_smtp_auth takes references instead)"`
	AllowPlaintext bool   `long:"allow-plaintext" section:"AUTH" description:"Allow AUTH over an unencrypted connection"`

	IgnoreQuit bool            `short:"q" long:"ignore-quit-failure" section:"SMTP session" description:"Do not wait for or judge the reply to QUIT"`
	Warning    threshold.Range `short:"w" long:"warning" value-name:"RANGE" section:"Thresholds" description:"Total time in seconds that gives WARNING (Nagios range; a negative start needs -w=...)"`
	Critical   threshold.Range `short:"c" long:"critical" value-name:"RANGE" section:"Thresholds" description:"Total time in seconds that gives CRITICAL"`

	PhaseWarning  map[string]string `long:"phase-warning" value-name:"PHASE:RANGE" section:"Thresholds" description:"Time of one phase (dns, connect, banner, ehlo, starttls, auth, mail, rcpt, quit, ...) that gives WARNING (repeatable)"`
	PhaseCritical map[string]string `long:"phase-critical" value-name:"PHASE:RANGE" section:"Thresholds" description:"Time of one phase that gives CRITICAL (repeatable)"`

	MX        string `long:"mx" value-name:"DOMAIN" section:"Connection" description:"Check every address of every MX host of DOMAIN; the worst wins"`
	DNSServer string `long:"dns-server" value-name:"ADDR[:PORT]" section:"Connection" description:"Ask this DNS server, and only it, for every lookup (HOST, MX, MX hosts; /etc/hosts is not read) instead of the system's resolver"`

	// Derived by Validate.
	responses   []*regexp.Regexp
	expectRe    *regexp.Regexp
	phases      map[probe.Phase]threshold.Pair
	certWarn    int
	certCrit    int
	passOnArgv  bool
	mailFrom    string
	transaction bool
}

// knownPhases may carry thresholds.
var knownPhases = []probe.Phase{probe.PhaseDNS, probe.PhaseConnect, probe.PhaseProxy, probe.PhaseTLS,
	probe.PhaseBanner, probe.PhaseEHLO, probe.PhaseStartTLS, probe.PhaseEHLOTLS, probe.PhaseAuth,
	probe.PhaseMail, probe.PhaseRcpt, probe.PhaseCommand, probe.PhaseRset, probe.PhaseQuit, "total"}

// tlsUse is how check_smtp_conn uses the TLS flags: no TLS unless asked
// for (or port 465), as check_smtp; -S judged on its own.
var tlsUse = plugin.TLSUse{Default: probe.TLSNone, FlagAdjust: plugin.FlagAdjust{Help: map[string]string{
	"starttls": "Use STARTTLS; WARNING if the server does not offer it",
	"sni":      "Accepted for check_smtp compatibility, takes no value: SNI is always sent for host names; --sni-name NAME sends another name",
	"insecure": "Do not verify the certificate at all; with -A, send the credentials to an unverified server anyway, as check_smtp does",
}}}

// FlagAdjust words the shared TLS flags for check_smtp_conn.
func (*Options) FlagAdjust() plugin.FlagAdjust { return tlsUse.FlagAdjust }

// Validate checks combinations and derives what the run needs.
func (o *Options) Validate(ctx context.Context) error {
	if o.Insecure && o.Verify {
		return plugin.Usagef("--insecure and --verify exclude each other: --insecure skips the verification that --verify judges")
	}
	use := tlsUse
	if o.CertDays != "" {
		if err := o.parseCertDays(); err != nil {
			return err
		}
	}
	// -D and --verify judge the certificate, so they need one: check_smtp
	// 3.x demands -S with -D, we imply it.
	for _, f := range []struct {
		given bool
		flag  string
	}{{o.CertDays != "", "-D"}, {o.Verify, "--verify"}} {
		if f.given && o.NoTLS {
			return plugin.Usagef("%s and --no-tls exclude each other: %s judges the certificate", f.flag, f.flag)
		}
		if f.given {
			use.Default = probe.TLSStartTLS
		}
	}
	if err := o.Server.Validate(&o.Common, &o.Port, 25, o.ImplicitAsked()); err != nil {
		return err
	}
	if err := o.TLS.Validate(ctx, &o.Common, o.Port, use); err != nil {
		return err
	}
	if err := o.validateNames(); err != nil {
		return err
	}
	if o.ProxyVersion == 0 && o.Proxy {
		o.ProxyVersion = 1
	}
	if o.From != "" && o.MailFrom != "" && o.From != o.MailFrom {
		return plugin.Usagef("-f and --mail-from give different senders")
	}
	o.mailFrom = strings.Trim(cmp.Or(o.From, o.MailFrom), "<>") // check_smtp strips the <> a user typed
	o.transaction = o.From != "" || o.MailFrom != "" || len(o.Rcpt) > 0
	if len(o.Responses) > len(o.Commands) {
		return plugin.Usagef("%d -R given for %d -C: each -R belongs to the -C at the same position", len(o.Responses), len(o.Commands))
	}
	for _, r := range o.Responses {
		re, err := regexp.Compile(r)
		if err != nil {
			return plugin.Usagef("-R %q: %v", r, err)
		}
		o.responses = append(o.responses, re)
	}
	if o.ExpectRegex != "" {
		re, err := regexp.Compile(o.ExpectRegex)
		if err != nil {
			return plugin.Usagef("--expect-regex %q: %v", o.ExpectRegex, err)
		}
		o.expectRe = re
	}
	if err := o.validateAuth(); err != nil {
		return err
	}
	if err := o.parsePhases(); err != nil {
		return err
	}
	if o.MX != "" && o.Host != "localhost" {
		return plugin.Usagef("--mx and -H exclude each other: --mx finds the hosts itself")
	}
	_, err := plugin.DNSServer(o.DNSServer)
	return err
}

// validateNames refuses, before anything is dialled, what cannot go on the
// wire: control characters in what is sent in a command, malformed names.
// The names become the form DNS and certificates know (see plugin.HostName).
func (o *Options) validateNames() error {
	if err := cmp.Or(plugin.WireText("-f", o.From), plugin.WireText("--mail-from", o.MailFrom),
		plugin.WireText("--rcpt", o.Rcpt...), plugin.WireText("-C", o.Commands...), plugin.WireText("-U", o.AuthUser)); err != nil {
		return err
	}
	var err error
	o.MX, err = plugin.DomainName("--mx", o.MX)
	return err
}

// parseCertDays reads check_smtp's -D WARN[,CRIT].
func (o *Options) parseCertDays() error {
	w, c, hasCrit := strings.Cut(o.CertDays, ",")
	var err error
	if o.certWarn, err = strconv.Atoi(strings.TrimSpace(w)); err == nil && hasCrit {
		o.certCrit, err = strconv.Atoi(strings.TrimSpace(c))
	}
	if err != nil || o.certWarn < 0 || o.certCrit < 0 {
		return plugin.Usagef("-D %q: want WARN[,CRIT] whole days", o.CertDays)
	}
	if o.certCrit > o.certWarn { // CRITICAL would always come first
		return plugin.Usagef("-D %q: WARN %d is below CRIT %d days, so the WARNING could never fire: put the larger number first, -D %d,%d",
			o.CertDays, o.certWarn, o.certCrit, o.certCrit, o.certWarn)
	}
	return nil
}

func (o *Options) validateAuth() error {
	if o.AuthType == "" {
		if o.AuthUser != "" || o.AuthPass != "" {
			return plugin.Usagef("-U/-P need -A LOGIN or -A PLAIN")
		}
		return nil
	}
	o.AuthType = strings.ToUpper(o.AuthType)
	if o.AuthType != "LOGIN" && o.AuthType != "PLAIN" {
		return plugin.Usagef("-A %s: check_smtp_conn speaks LOGIN and PLAIN; check_smtp_auth has the other mechanisms", o.AuthType)
	}
	if o.AuthUser == "" || o.AuthPass == "" {
		return plugin.Usagef("-A %s needs -U and -P", o.AuthType)
	}
	if err := secret.CheckValue("-P", o.AuthPass); err != nil {
		return plugin.Usagef("%v", err)
	}
	o.passOnArgv = o.OnCommandLine("authpass") // not from an --extra-opts file
	return nil
}

func (o *Options) parsePhases() error {
	o.phases = map[probe.Phase]threshold.Pair{}
	set := func(m map[string]string, flag string, crit bool) error {
		for name, val := range m {
			ph := probe.Phase(strings.ToLower(name))
			if !slices.Contains(knownPhases, ph) {
				return plugin.Usagef("%s %s: unknown phase %q", flag, name, name)
			}
			r, err := threshold.Parse(val)
			if err != nil {
				return plugin.Usagef("%s %s: %v", flag, name, err)
			}
			p := o.phases[ph]
			if crit {
				p.Crit = r
			} else {
				p.Warn = r
			}
			o.phases[ph] = p
		}
		return nil
	}
	if err := set(o.PhaseWarning, "--phase-warning", false); err != nil {
		return err
	}
	return set(o.PhaseCritical, "--phase-critical", true)
}
