// Package tlscheck is check_smtp_tls: it runs one TLS session (STARTTLS or
// implicit TLS), optionally a handshake per protocol version, and judges the
// certificate chain, the keys and signatures, the protocol, the stapled OCSP
// response and, on request, DANE (TLSA records) and the MTA-STS policy.
package tlscheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// Name is the plugin's name; Service prefixes its status line.
const (
	Name    = "check_smtp_tls"
	Service = "SMTP TLS"
)

// Options are check_smtp_tls's flags.
type Options struct {
	plugin.Common `group:"Output and run"`
	plugin.Server `group:"Connection"`

	Port int `short:"p" long:"port" value-name:"PORT" section:"Connection" description:"TCP port (default: 25, or 465 with -s); port 465 without -S means implicit TLS"`

	plugin.TLS `group:"TLS"`

	Warning  string `short:"w" long:"warning" value-name:"DAYS|RANGE" section:"Thresholds" description:"Days of validity left that give WARNING, for every chain element: N means fewer than N days; a Nagios range (e.g. 30:) is taken as is (default: 30)"`
	Critical string `short:"c" long:"critical" value-name:"DAYS|RANGE" section:"Thresholds" description:"Days of validity left that give CRITICAL (default: 14)"`
	CertDays string `short:"D" long:"certificate" value-name:"WARN[,CRIT]" section:"Thresholds" description:"check_smtp's spelling of -w/-c in days"`

	MinRSABits   int    `long:"min-rsa-bits" default:"2048" value-name:"BITS" section:"Certificate and protocol" description:"CRITICAL for an RSA key shorter than this in the chain"`
	SHA1State    string `long:"sha1-state" default:"WARNING" value-name:"STATE" section:"Certificate and protocol" description:"State for a SHA-1 signed certificate"`
	MD5State     string `long:"md5-state" default:"CRITICAL" value-name:"STATE" section:"Certificate and protocol" description:"State for an MD5 (or MD2) signed certificate"`
	ScanVersions bool   `long:"scan-versions" section:"Certificate and protocol" description:"Try TLS 1.0, 1.1, 1.2 and 1.3 one by one and report which the server accepts"`
	LegacyState  string `long:"legacy-tls-state" default:"WARNING" value-name:"STATE" section:"Certificate and protocol" description:"State when --scan-versions finds TLS 1.0 or 1.1 accepted"`
	RequireOCSP  bool   `long:"require-ocsp-staple" section:"Certificate and protocol" description:"CRITICAL unless the server staples an OCSP response"`
	OCSPWarning  int    `long:"ocsp-warning" value-name:"HOURS" section:"Certificate and protocol" description:"WARNING when the stapled OCSP response is valid for fewer hours (its next update), as check_ssl_cert's --ocsp-warning"`
	OCSPCritical int    `long:"ocsp-critical" value-name:"HOURS" section:"Certificate and protocol" description:"CRITICAL when the stapled OCSP response is valid for fewer hours"`

	DANE              bool   `long:"dane" section:"DANE and MTA-STS" description:"Look up the TLSA records of _PORT._tcp.HOST and match them against the chain (RFC 7672: DANE-TA and DANE-EE); needs a DNSSEC-validating resolver"`
	DANEInsecureState string `long:"dane-insecure-state" default:"WARNING" value-name:"STATE" section:"DANE and MTA-STS" description:"State when the TLSA answer lacks the AD bit (DNSSEC not confirmed)"`
	MTASTS            string `long:"mta-sts" value-name:"DOMAIN" section:"DANE and MTA-STS" description:"Check that HOST is an mx of DOMAIN's MTA-STS policy (RFC 8461) and report its mode"`
	MTASTSURLBase     string `long:"mta-sts-url-base" value-name:"URL" section:"DANE and MTA-STS" description:"Fetch the MTA-STS policy from URL/.well-known/mta-sts.txt instead of https://mta-sts.DOMAIN (the certificate must still be valid for mta-sts.DOMAIN)"`
	DNSServer         string `long:"dns-server" value-name:"ADDR[:PORT]" section:"Connection" description:"Ask this DNS server, and only it, for every lookup (HOST, TLSA, MTA-STS record and policy host; /etc/hosts is not read) instead of the system's resolver"`

	// Derived by Validate.
	days        threshold.Pair
	sha1State   plugin.State
	md5State    plugin.State
	legacyState plugin.State

	daneInsecureState plugin.State
	dnsServer         string // --dns-server with its port
}

// tlsUse is how check_smtp_tls uses the TLS flags: STARTTLS unless told
// otherwise (or port 465); it judges the certificate itself, so the flags
// that would skip TLS or its verification make no sense here.
var tlsUse = plugin.TLSUse{Default: probe.TLSStartTLS, FlagAdjust: plugin.FlagAdjust{
	Help: map[string]string{
		"min-tls": "Lowest acceptable negotiated TLS version (1.0, 1.1, 1.2, 1.3); below is CRITICAL",
	},
	Refuse: map[string]string{
		"no-tls":   "check_smtp_tls judges TLS, so it needs TLS (check_smtp_conn checks a plain session)",
		"insecure": "check_smtp_tls judges the certificate itself and goes on whatever it finds: leave --insecure out",
	},
}}

// FlagAdjust words the shared TLS flags for check_smtp_tls and hides those
// it does not take.
func (*Options) FlagAdjust() plugin.FlagAdjust { return tlsUse.FlagAdjust }

// Validate checks combinations and derives what the run needs.
func (o *Options) Validate(ctx context.Context) error {
	if o.SNI && len(o.Args) > 0 {
		// The old check_smtp_tls --sni took a value: taken as the
		// positional host, it would check another host without a word.
		return plugin.Usagef("--sni takes no value: use --sni-name NAME (and -H for the host)")
	}
	if err := o.Server.Validate(&o.Common, &o.Port, 25, o.ImplicitAsked()); err != nil {
		return err
	}
	if err := o.TLS.Validate(ctx, &o.Common, o.Port, tlsUse); err != nil {
		return err
	}
	if err := o.parseDays(); err != nil {
		return err
	}
	if o.MinRSABits < 0 {
		return plugin.Usagef("--min-rsa-bits %d: want a number of bits", o.MinRSABits)
	}
	var err error
	for _, s := range []struct {
		flag, val string
		dst       *plugin.State
	}{{"--sha1-state", o.SHA1State, &o.sha1State}, {"--md5-state", o.MD5State, &o.md5State}, {"--legacy-tls-state", o.LegacyState, &o.legacyState},
		{"--dane-insecure-state", o.DANEInsecureState, &o.daneInsecureState}} {
		if *s.dst, err = plugin.ParseState(s.val); err != nil {
			return plugin.Usagef("%s: %v", s.flag, err)
		}
	}
	return o.validateDNS()
}

// validateDNS checks the options of --dane and --mta-sts.
func (o *Options) validateDNS() error {
	var err error
	if o.dnsServer, err = plugin.DNSServer(o.DNSServer); err != nil {
		return err
	}
	if (o.DANE || o.MTASTS != "") && o.mxName() == "" {
		return plugin.Usagef("--dane and --mta-sts need the MX host name: give -H NAME, or --verify-name NAME with an address")
	}
	if o.MTASTS != "" {
		d, err := plugin.MailDomain("--mta-sts", o.MTASTS)
		if err != nil {
			return err
		}
		o.MTASTS = d
	}
	return plugin.MTASTSURLBase(o.MTASTSURLBase, "--mta-sts", o.MTASTS)
}

// mxName is the host name DANE and MTA-STS are about: -H when it is a
// name, else the name the certificate is verified for; "" when neither is.
func (o *Options) mxName() string {
	for _, n := range []string{o.Host, o.verifyName()} {
		if _, err := netip.ParseAddr(n); err != nil && n != "" {
			return strings.ToLower(strings.TrimSuffix(n, "."))
		}
	}
	return ""
}

// parseDays maps -w/-c/-D to ranges over "days left". A plain number N
// means "alert when fewer than N days are left", i.e. the range "N:"
// (inside N..∞ is fine); anything with ':', '~' or '@' is a Nagios range
// taken as is. Defaults: 30 and 14.
func (o *Options) parseDays() error {
	w, c := o.Warning, o.Critical
	if o.CertDays != "" {
		if w != "" || c != "" {
			return plugin.Usagef("-D and -w/-c both give the days thresholds: use one")
		}
		var hasCrit bool
		w, c, hasCrit = strings.Cut(o.CertDays, ",")
		if !hasCrit {
			c = "0" // check_smtp: -D N alone only warns; expired elements are CRITICAL anyway
		}
		for _, v := range []string{w, c} {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err != nil || n < 0 {
				return plugin.Usagef("-D %q: want WARN[,CRIT] whole days", o.CertDays)
			}
		}
	}
	if w == "" {
		w = "30"
	}
	if c == "" {
		c = "14"
	}
	var err error
	if o.days.Warn, err = daysRange(w); err != nil {
		return daysError("-w", err)
	}
	if o.days.Crit, err = daysRange(c); err != nil {
		return daysError("-c", err)
	}
	// Plain numbers are "fewer than N days left": a WARNING at no more
	// days than the CRITICAL could never come first.
	wn, errW := strconv.ParseFloat(strings.TrimSpace(w), 64)
	cn, errC := strconv.ParseFloat(strings.TrimSpace(c), 64)
	if errW == nil && errC == nil && wn <= cn {
		given, eg := fmt.Sprintf("-w %s -c %s", strings.TrimSpace(w), strings.TrimSpace(c)), "-w 30 -c 14"
		if o.CertDays != "" {
			given, eg = "-D "+o.CertDays, "-D 30,14"
		} else if o.Critical == "" {
			given += " (the default -c)"
		} else if o.Warning == "" {
			given += " (the default -w)"
		}
		return plugin.Usagef("%s: the thresholds are days left, so WARNING must be larger than CRITICAL (e.g. %s), else it never comes first", given, eg)
	}
	return nil
}

// daysError words a bad -w or -c as every plugin words a bad threshold.
func daysError(flag string, err error) error {
	if errors.Is(err, threshold.ErrReversed) {
		return plugin.Usagef("%s: %v", flag, err)
	}
	return plugin.Usagef("%s: want days left or a Nagios range such as 30, 30:, ~:5, @1:2", flag)
}

func daysRange(s string) (threshold.Range, error) {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, ":~@") {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			s += ":"
		}
	}
	return threshold.Parse(s)
}

// target is the probe target of the main session; version scans narrow it.
func (o *Options) target() probe.Target {
	t := probe.Target{Host: o.Host, Port: o.Port, Network: o.Network(), HeloName: o.HeloName(), Resolver: o.resolver()}
	o.ApplyTo(&t)
	t.Insecure = true // the chain is verified and judged by tlsaudit
	if t.MinVersion > tls.VersionTLS12 {
		t.MinVersion = tls.VersionTLS12 // judge a 1.2 server against --min-tls 1.3 rather than fail the handshake
	}
	return t
}

// verifyName is the name the certificate must carry.
func (o *Options) verifyName() string {
	return probe.Target{Host: o.Host, ServerName: o.SNIName, VerifyName: o.VerifyName}.CheckedName()
}
