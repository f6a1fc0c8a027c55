// Package securitycheck is check_smtp_security: it asks an SMTP server to
// do what it must refuse (relay for strangers, take mail or offer AUTH in
// clear text, confirm user names, run commands injected before STARTTLS,
// speak old TLS) and judges each refusal as a sub-check of its own, with
// the server's exact replies as evidence and the Postfix and Exim settings
// that fix it. It never sends DATA and never sends mail anywhere.
package securitycheck

import (
	"context"
	"fmt"
	"maps"
	"net/mail"
	"slices"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/maildns"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// Name is the plugin's name; Service prefixes its status line.
const (
	Name    = "check_smtp_security"
	Service = "SMTP SECURITY"
)

// Role is what the port is for; it decides which sub-checks run and how
// severe each is.
type Role string

// The roles and their ports.
const (
	RoleMX          Role = "mx"          // port 25: mail from anyone to local domains
	RoleSubmission  Role = "submission"  // port 587: STARTTLS, then AUTH, then mail out
	RoleSubmissions Role = "submissions" // port 465: implicit TLS, then AUTH
)

// Options are check_smtp_security's flags.
type Options struct {
	plugin.Common `group:"Output and run"`
	plugin.Server `group:"Connection"`

	Port int `short:"p" long:"port" value-name:"PORT" section:"Connection" description:"TCP port (default by --role: 25, 587 or 465)"`

	plugin.TLS `group:"TLS"`

	Role  string   `long:"role" choice:"mx" choice:"submission" choice:"submissions" value-name:"ROLE" section:"Audit" description:"What the port is for: mx, submission (STARTTLS) or submissions (implicit TLS); default by port: 587 submission, 465 submissions, else mx"`
	Only  []string `long:"only" value-name:"ID[,ID...]" section:"Audit" description:"Run only these sub-checks (repeatable): starttls, tls_required, auth_plain, auth_relay, open_relay, vrfy, expn, rcpt_enum, injection, banner, weak_tls; rate_limit, smuggling and the rows of --domain (mx, spf, dmarc, mta_sts, tls_rpt, tlsa) with their flags"`
	Skip  []string `long:"skip" value-name:"ID[,ID...]" section:"Audit" description:"Do not run these sub-checks (repeatable)"`
	State []string `long:"state" value-name:"ID=STATE" section:"Audit" description:"The state a sub-check gives when it finds a problem, instead of its default for the role, e.g. vrfy=critical or banner=warning (repeatable). banner is informational (OK) by default, and so is rcpt_enum on --role mx, where refusing unknown recipients at RCPT is required (no backscatter): rcpt_enum=warning makes it count"`

	RelayFrom   string `unquote:"false" long:"relay-from" default:"security-probe@example.com" value-name:"ADDRESS" section:"Audit" description:"Outside sender of the relay attempts (RCPT only: nothing is ever sent)"`
	RelayTo     string `unquote:"false" long:"relay-to" default:"relay-test@example.net" value-name:"ADDRESS" section:"Audit" description:"Outside recipient of the relay attempts (RCPT only: nothing is ever sent)"`
	LocalDomain string `long:"local-domain" value-name:"DOMAIN" section:"Audit" description:"A domain the server takes mail for, for the relay variants and the control recipient (default: the name in its EHLO reply)"`
	KnownUser   string `unquote:"false" long:"known-user" default:"postmaster" value-name:"NAME" section:"Audit" description:"A name that exists on the server, for VRFY and EXPN against a random one"`

	RateProbe     int    `long:"rate-probe" value-name:"N" section:"Opt-in probes" description:"Open up to N connections (at most 200) in quick succession, within half of -t; WARNING when none is refused or answered 4xx (rate_limit)"`
	Domain        string `long:"domain" value-name:"DOMAIN" section:"Domain policy (DNS only)" description:"Also judge what DOMAIN publishes in the DNS, each a sub-check: mx (present; a null MX noted), spf (one record, parseable, at most 10 DNS lookups; +all CRITICAL, ?all or no all WARNING), dmarc (p=none or missing WARNING), mta_sts (mode testing WARNING; enforce with an MX it does not list CRITICAL; no record informational), tls_rpt (missing informational) and tlsa (at _25._tcp of each MX: not DNSSEC-validated WARNING, none informational)"`
	DNSServer     string `long:"dns-server" value-name:"ADDR[:PORT]" section:"Domain policy (DNS only)" description:"Ask this DNS server, and only it, for every lookup (HOST, the records of --domain and the MTA-STS policy host; /etc/hosts is not read) instead of the system's resolver; TLSA records count only when it validates DNSSEC"`
	MTASTSURLBase string `long:"mta-sts-url-base" value-name:"URL" section:"Domain policy (DNS only)" description:"Fetch the MTA-STS policy of --domain from URL/.well-known/mta-sts.txt instead of https://mta-sts.DOMAIN (the certificate must still be valid for mta-sts.DOMAIN)"`

	SmugglingRcpt string `unquote:"false" long:"smuggling-rcpt" value-name:"ADDRESS" section:"Opt-in probes" description:"A mailbox of yours on this MX: send DATA ending with each bare-LF/CR end-of-data an attacker can produce, never a proper one; a 250 is CRITICAL and delivers that probe to ADDRESS (smuggling, --role mx). Each false end waits for its reply until -t is nearly spent (a late 250 counts too): a wait under 5 s is inconclusive (WARNING, raise -t)"`

	// Derived by Validate.
	role      Role
	dnsServer string                  // --dns-server with its port
	run       map[string]bool         // sub-check id → runs
	overrides map[string]plugin.State // --state
}

// tlsUse: STARTTLS unless --role submissions (or port 465) says implicit
// TLS; --no-tls leaves out the sub-checks that need TLS.
var tlsUse = plugin.TLSUse{Default: probe.TLSStartTLS, FlagAdjust: plugin.FlagAdjust{Help: map[string]string{
	"ssl":      "Implicit TLS (same as --role submissions)",
	"starttls": "Use STARTTLS (the default for --role mx and submission)",
	"no-tls":   "Do not speak TLS at all: the sub-checks that need it are skipped",
	"insecure": "Go on with a certificate that does not verify (certificates are check_smtp_tls's job; said in the output)",
	"min-tls":  "Lowest TLS version the audit's own sessions accept (the weak_tls scan tries every version regardless)",
}}}

// FlagAdjust words the shared TLS flags for check_smtp_security.
func (*Options) FlagAdjust() plugin.FlagAdjust { return tlsUse.FlagAdjust }

// rolePorts are each role's port.
var rolePorts = map[Role]int{RoleMX: 25, RoleSubmission: 587, RoleSubmissions: 465}

// Validate derives the role, the port and the sub-checks to run, and
// refuses what cannot run before anything is dialled.
func (o *Options) Validate(ctx context.Context) error {
	o.role = Role(o.Role)
	if o.role != "" && o.Port == 0 && !o.Given("port") {
		o.Port = rolePorts[o.role]
	}
	if err := o.Server.Validate(&o.Common, &o.Port, 25, o.ImplicitAsked() || o.role == RoleSubmissions); err != nil {
		return err
	}
	if o.role == RoleSubmissions && !o.TLS.StartTLS && !o.NoTLS {
		o.SSL = true // the role is implicit TLS, on whatever port
	}
	if err := o.TLS.Validate(ctx, &o.Common, o.Port, tlsUse); err != nil {
		return err
	}
	if o.role == "" {
		switch {
		case o.Mode() == probe.TLSImplicit:
			o.role = RoleSubmissions
		case o.Port == 587:
			o.role = RoleSubmission
		default:
			o.role = RoleMX
		}
	}
	switch {
	case o.role == RoleSubmissions && o.Mode() != probe.TLSImplicit:
		return plugin.Usagef("--role submissions speaks implicit TLS: drop -S and --no-tls")
	case o.role != RoleSubmissions && o.Mode() == probe.TLSImplicit:
		return plugin.Usagef("implicit TLS (-s or port 465) is --role submissions, not %s: give --role submissions, or -S for STARTTLS", o.role)
	}
	if len(o.Args) > 0 {
		return plugin.Usagef("unexpected argument %q", o.Args[0])
	}
	if err := o.validateAddresses(); err != nil {
		return err
	}
	if err := o.validateOptIn(); err != nil {
		return err
	}
	if err := o.validateDomain(); err != nil {
		return err
	}
	if err := o.selectChecks(); err != nil {
		return err
	}
	return o.parseStates()
}

// validateAddresses refuses addresses that would smuggle a second command
// or are no addresses, and keeps the relay recipient outside the reserved
// test domains unless the operator named another.
func (o *Options) validateAddresses() error {
	for _, a := range []struct{ flag, val string }{{"--relay-from", o.RelayFrom}, {"--relay-to", o.RelayTo}} {
		if err := plugin.WireText(a.flag, a.val); err != nil {
			return err
		}
		if _, err := mail.ParseAddress(a.val); err != nil || strings.ContainsAny(a.val, "<> ") {
			return plugin.Usagef("%s %q: want a plain address such as user@example.net", a.flag, a.val)
		}
	}
	if err := plugin.WireText("--known-user", o.KnownUser); err != nil {
		return err
	}
	if o.KnownUser == "" || strings.ContainsAny(o.KnownUser, " <>") {
		return plugin.Usagef("--known-user %q: want a user name such as postmaster", o.KnownUser)
	}
	if o.LocalDomain != "" {
		d, err := plugin.DomainName("--local-domain", o.LocalDomain)
		if err != nil {
			return err
		}
		o.LocalDomain = d
	}
	return nil
}

// ids splits repeatable, comma-separated lists of sub-check ids, refusing
// an unknown one with the list of those known.
func ids(flag string, vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		for id := range strings.SplitSeq(v, ",") {
			id = normID(id)
			if id == "" {
				continue
			}
			if find(id) == nil {
				return nil, plugin.Usagef("%s %s: no such sub-check (known: %s)", flag, id, strings.Join(allIDs(), ", "))
			}
			out = append(out, id)
		}
	}
	return out, nil
}

// normID takes open-relay as open_relay, the perfdata spelling.
func normID(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")
}

// selectChecks decides what runs: the role's sub-checks, narrowed by
// --only, minus --skip.
func (o *Options) selectChecks() error {
	only, err := ids("--only", o.Only)
	if err != nil {
		return err
	}
	skip, err := ids("--skip", o.Skip)
	if err != nil {
		return err
	}
	o.run = map[string]bool{}
	for _, sc := range subchecks {
		_, forRole := sc.states[o.role]
		o.run[sc.id] = forRole && o.optedIn(sc) && (len(only) == 0 || slices.Contains(only, sc.id)) && !slices.Contains(skip, sc.id)
	}
	if len(o.Only) > 0 && len(only) == 0 {
		return plugin.Usagef("--only %q: name at least one sub-check (known: %s)", strings.Join(o.Only, ","), strings.Join(allIDs(), ", "))
	}
	for _, id := range only {
		sc := find(id)
		if _, ok := sc.states[o.role]; !ok {
			return plugin.Usagef("--only %s: %s does not apply to %s", id, id, o.role)
		}
		if !o.optedIn(*sc) {
			return plugin.Usagef("--only %s: %s runs only with --%s", id, id, sc.optIn)
		}
	}
	if !slices.Contains(slices.Collect(maps.Values(o.run)), true) {
		return plugin.Usagef("--only and --skip leave no sub-check to run for %s", o.role)
	}
	return nil
}

// optedIn reports whether sc runs by default or its flag was given.
func (o *Options) optedIn(sc subcheck) bool {
	switch sc.optIn {
	case "rate-probe":
		return o.RateProbe > 0
	case "smuggling-rcpt":
		return o.SmugglingRcpt != ""
	case "domain":
		return o.Domain != ""
	}
	return true
}

// validateOptIn bounds --rate-probe and checks --smuggling-rcpt.
func (o *Options) validateOptIn() error {
	if o.RateProbe < 0 || o.RateProbe > maxRateProbe {
		return plugin.Usagef("--rate-probe %d: want 1 to %d connections", o.RateProbe, maxRateProbe)
	}
	if o.SmugglingRcpt == "" {
		return nil
	}
	if o.role != RoleMX {
		return plugin.Usagef("--smuggling-rcpt: the smuggling probe is for an MX (--role mx), not %s", o.role)
	}
	if err := plugin.WireText("--smuggling-rcpt", o.SmugglingRcpt); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(o.SmugglingRcpt); err != nil || strings.ContainsAny(o.SmugglingRcpt, "<> ") {
		return plugin.Usagef("--smuggling-rcpt %q: want a plain address of a mailbox of yours, such as postmaster@example.org", o.SmugglingRcpt)
	}
	return nil
}

// validateDomain checks --domain, --dns-server and --mta-sts-url-base as
// check_smtp_tls checks its own.
func (o *Options) validateDomain() error {
	var err error
	if o.dnsServer, err = plugin.DNSServer(o.DNSServer); err != nil {
		return err
	}
	if o.Domain != "" {
		d, err := plugin.MailDomain("--domain", o.Domain)
		if err != nil {
			return err
		}
		o.Domain = d
	}
	return plugin.MTASTSURLBase(o.MTASTSURLBase, "--domain", o.Domain)
}

// dns is the client of every DNS lookup: --dns-server, else resolv.conf's.
func (o *Options) dns() maildns.Client { return maildns.Client{Server: o.dnsServer} }

// maxRateProbe bounds --rate-probe: enough to cross any sane per-client
// limit, too few to load a server.
const maxRateProbe = 200

// parseStates reads --state ID=STATE.
func (o *Options) parseStates() error {
	o.overrides = map[string]plugin.State{}
	for _, v := range o.State {
		id, st, ok := strings.Cut(v, "=")
		if !ok {
			return plugin.Usagef("--state %q: want ID=STATE, e.g. vrfy=critical", v)
		}
		ids, err := ids("--state", []string{id})
		if err != nil {
			return err
		}
		if len(ids) != 1 {
			return plugin.Usagef("--state %q: want one sub-check id before '='", v)
		}
		s, err := plugin.ParseState(st)
		if err != nil {
			return plugin.Usagef("--state %s: %v", v, err)
		}
		o.overrides[ids[0]] = s
	}
	return nil
}

// target is the probe target of every session, in the TLS mode given.
func (o *Options) target(mode probe.TLSMode) probe.Target {
	t := probe.Target{Host: o.Host, Port: o.Port, Network: o.Network(), HeloName: o.HeloName(), Resolver: o.dns().Resolver()}
	o.ApplyTo(&t)
	t.TLS = mode
	return t
}

// String names the role for messages.
func (r Role) String() string { return fmt.Sprintf("--role %s", string(r)) }
