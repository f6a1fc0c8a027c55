package securitycheck

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/maildns"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// DNSAnswer is one lookup of --domain as data: who answered what.
type DNSAnswer struct {
	Name    string
	Server  string
	Rcode   int
	AD      bool     // a validating resolver vouched for it (DNSSEC)
	TXT     []string // TXT lookups: each record's strings joined
	Err     error    // no answer (the server could not be asked)
	Timeout bool
}

// MX is one MX record and, unless it is a null MX, its TLSA lookup.
type MX struct {
	Pref uint16
	Host string // without the final dot; "" for a null MX (RFC 7505)
	TLSA []tlsaudit.TLSA
	DNS  DNSAnswer // of _25._tcp.HOST
}

// Domain is what --domain's lookups returned.
type Domain struct {
	MX                 DNSAnswer
	MXs                []MX
	SPF, DMARC, TLSRPT DNSAnswer
	STS                *maildns.STS
}

// hasHost reports whether an MX names a host (one that is not a null MX).
func (d *Domain) hasHost() bool {
	return slices.ContainsFunc(d.MXs, func(m MX) bool { return m.Host != "" })
}

// maxMX bounds the TLSA lookups: more MX hosts than a domain needs.
const maxMX = 10

// lookupDomain asks for everything --domain judges, the independent
// lookups beside each other, all under the one deadline.
func (o *Options) lookupDomain(ctx context.Context) *Domain {
	c := o.dns()
	d := &Domain{}
	type set = func(*Domain)
	jobs := []fanout.Job[set]{
		{Name: "the MX and TLSA lookups", Run: func(ctx context.Context) set {
			mx, hosts := o.lookupMX(ctx, c)
			return func(d *Domain) { d.MX, d.MXs = mx, hosts }
		}},
		{Name: "the SPF lookup", Run: func(ctx context.Context) set {
			a := lookupTXT(ctx, c, o.Domain)
			return func(d *Domain) { d.SPF = a }
		}},
		{Name: "the DMARC lookup", Run: func(ctx context.Context) set {
			a := lookupTXT(ctx, c, "_dmarc."+o.Domain)
			return func(d *Domain) { d.DMARC = a }
		}},
		{Name: "the TLS-RPT lookup", Run: func(ctx context.Context) set {
			a := lookupTXT(ctx, c, "_smtp._tls."+o.Domain)
			return func(d *Domain) { d.TLSRPT = a }
		}},
		{Name: "the MTA-STS lookup", Run: func(ctx context.Context) set {
			s := c.LookupSTS(ctx, o.Domain, o.MTASTSURLBase, o.Roots())
			return func(d *Domain) { d.STS = s }
		}},
	}
	for i, jr := range fanout.Run(ctx, 0, jobs) {
		if jr.Err != nil { // a panic: that row says so
			err := fmt.Errorf("%s: %v", jobs[i].Name, jr.Err)
			switch i {
			case 0:
				d.MX.Err = err
			case 1:
				d.SPF.Err = err
			case 2:
				d.DMARC.Err = err
			case 3:
				d.TLSRPT.Err = err
			case 4:
				d.STS = &maildns.STS{TXTErr: err}
			}
			continue
		}
		jr.Value(d)
	}
	return d
}

func answer(name string, ans maildns.Answer, err error) DNSAnswer {
	a := DNSAnswer{Name: name, Server: ans.Server, Err: err, Timeout: err == maildns.ErrTimeout}
	if err == nil {
		a.Rcode, a.AD = ans.Rcode, ans.AD
	}
	return a
}

func lookupTXT(ctx context.Context, c maildns.Client, name string) DNSAnswer {
	ans, err := c.Query(ctx, name, maildns.TypeTXT)
	a := answer(name, ans, err)
	if err == nil {
		a.TXT = maildns.TXT(ans)
	}
	return a
}

// lookupMX asks for the MX records, then for each host's TLSA records.
func (o *Options) lookupMX(ctx context.Context, c maildns.Client) (DNSAnswer, []MX) {
	ans, err := c.Query(ctx, o.Domain, maildns.TypeMX)
	a := answer(o.Domain, ans, err)
	if err != nil || ans.Rcode != hostdns.RcodeSuccess {
		return a, nil
	}
	var mxs []MX
	for _, rr := range ans.Records {
		if rr.Type == maildns.TypeMX && len(mxs) < maxMX {
			mxs = append(mxs, MX{Pref: rr.Pref, Host: strings.TrimSuffix(strings.ToLower(rr.Target), ".")})
		}
	}
	slices.SortStableFunc(mxs, func(x, y MX) int { return int(x.Pref) - int(y.Pref) })
	for i := range mxs {
		if mxs[i].Host == "" {
			continue
		}
		name := "_25._tcp." + mxs[i].Host
		recs, ans, err := c.TLSA(ctx, name)
		mxs[i].TLSA, mxs[i].DNS = recs, answer(name, ans, err)
	}
	return a, mxs
}

// dnsFailed is the outcome of a row whose lookup got no usable answer:
// the timeout's state, or CRITICAL for a server that failed (SERVFAIL, a
// DNSSEC validation failure among them), as every plugin words them.
func (o *Options) dnsFailed(a DNSAnswer) outcome {
	switch {
	case a.Timeout:
		return outcome{fixed: true, state: o.Timeout.State, summary: fmt.Sprintf("no answer for %s within the %s s timeout (asked %s)", a.Name, plugin.Secs(o.Timeout.Duration), o.dns().ResolverName())}
	case a.Err != nil:
		return outcome{fixed: true, state: plugin.Critical, summary: fmt.Sprintf("the lookup of %s failed: %s", a.Name, plugin.PlainErr(a.Err))}
	}
	return outcome{fixed: true, state: plugin.Critical, summary: fmt.Sprintf("the lookup of %s failed: %s (asked %s) - %s", a.Name, hostdns.Meaning(a.Rcode), a.Server, hostdns.RcodeAdvice(a.Rcode))}
}

// usable reports whether a is an answer to judge: NOERROR, or NXDOMAIN
// (the name has no records at all).
func (a DNSAnswer) usable() bool {
	return a.Err == nil && (a.Rcode == hostdns.RcodeSuccess || a.Rcode == hostdns.RcodeNXDomain)
}

// records picks the TXT records that begin with tag (case-insensitive,
// followed by the end or a separator).
func records(a DNSAnswer, tag string, sep string) []string {
	var out []string
	for _, t := range a.TXT {
		if len(t) >= len(tag) && strings.EqualFold(t[:len(tag)], tag) && (len(t) == len(tag) || strings.ContainsRune(sep, rune(t[len(tag)]))) {
			out = append(out, t)
		}
	}
	return out
}

func asked(a DNSAnswer) string { return fmt.Sprintf("%s TXT (asked %s)", a.Name, a.Server) }

// noRecord is the evidence of a name without a record beginning with tag:
// the TXT records it has instead, where a typo ("v=spf10", a DMARC record
// not starting with v=DMARC1) shows.
func noRecord(a DNSAnswer, tag string) []string {
	ev := asked(a) + ": no " + tag + " record"
	if len(a.TXT) > 0 {
		ev += "; other TXT: " + strings.Join(quoteAll(a.TXT), ", ")
	}
	return []string{ev}
}

func (o *Options) judgeMX(f *Facts) outcome {
	d := f.Domain
	if !d.MX.usable() {
		return o.dnsFailed(d.MX)
	}
	if d.MX.Rcode == hostdns.RcodeNXDomain {
		return outcome{fixed: true, state: plugin.Critical, summary: fmt.Sprintf("%s does not exist (NXDOMAIN, asked %s)", o.Domain, d.MX.Server)}
	}
	var ev []string
	for _, m := range d.MXs {
		ev = append(ev, fmt.Sprintf("MX %d %s", m.Pref, plugin.OrNone(m.Host)))
	}
	switch {
	case len(d.MXs) == 0:
		return problem("no MX record: senders fall back to the domain's own address (RFC 5321 §5.1), or give up", "MX "+o.Domain+": none (asked "+d.MX.Server+")")
	case len(d.MXs) == 1 && d.MXs[0].Host == "":
		return pass("null MX (RFC 7505): the domain says it receives no mail", ev...)
	case slices.ContainsFunc(d.MXs, func(m MX) bool { return m.Host == "" }):
		return problem("a null MX beside other MX records: RFC 7505 §3 allows it only alone, so senders may refuse or try the others", ev...)
	}
	return pass(fmt.Sprintf("%d MX host%s", len(d.MXs), map[bool]string{true: "s"}[len(d.MXs) > 1]), ev...)
}

// spfMechanisms are RFC 7208's; those that cost a DNS lookup count
// against its limit of 10 (§4.6.4), with the redirect modifier.
var (
	spfMechanisms = []string{"all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists"}
	spfLookups    = []string{"include", "a", "mx", "ptr", "exists", "redirect"}
)

// SPF is what a record says, read by syntax alone (includes are not
// followed: their own lookups add to the limit at the receiver).
type spfRecord struct {
	all      string // the qualifier of "all" ("+", "-", "~", "?"); "" when none
	redirect bool
	lookups  int
	includes bool // include or redirect: lookups is at least, their targets' terms add to it
}

func parseSPF(rec string) (spfRecord, error) {
	var s spfRecord
	seen := map[string]bool{}
	for _, term := range strings.Fields(rec)[1:] {
		name, _, isMod := strings.Cut(term, "=")
		if isMod && !strings.Contains(name, ":") && !strings.Contains(name, "/") {
			name = strings.ToLower(name)
			if (name == "redirect" || name == "exp") && seen[name] {
				return s, fmt.Errorf("%s= appears more than once (RFC 7208 §6)", name)
			}
			seen[name] = true
			if name == "redirect" {
				s.redirect, s.includes = true, true
				s.lookups++
			}
			continue // exp= and unknown modifiers are ignored (§6)
		}
		orig := term
		q := "+"
		if strings.ContainsAny(term[:1], "+-~?") {
			q, term = term[:1], term[1:]
		}
		mech, arg, hasArg := strings.Cut(term, ":")
		if !hasArg {
			mech, arg, _ = strings.Cut(term, "/")
			arg = ""
		}
		mech = strings.ToLower(mech)
		if !slices.Contains(spfMechanisms, mech) {
			return s, fmt.Errorf("unknown term %q", orig)
		}
		if slices.Contains(spfLookups, mech) {
			s.lookups++
		}
		switch mech {
		case "all":
			s.all = q
		case "ip4", "ip6":
			if _, err := netip.ParsePrefix(arg); err != nil {
				if _, err := netip.ParseAddr(arg); err != nil {
					return s, fmt.Errorf("%s:%s is no address or network", mech, arg)
				}
			}
		case "include", "exists":
			if arg == "" {
				return s, fmt.Errorf("%s needs a domain", mech)
			}
			s.includes = s.includes || mech == "include"
		}
	}
	return s, nil
}

func (o *Options) judgeSPF(f *Facts) outcome {
	a := f.Domain.SPF
	if !a.usable() {
		return o.dnsFailed(a)
	}
	recs := records(a, "v=spf1", " ")
	switch len(recs) {
	case 0:
		return problem("no SPF record: anyone may send as "+o.Domain+" as far as receivers can tell", noRecord(a, "v=spf1")...)
	case 1:
	default:
		return problem(fmt.Sprintf("%d SPF records: receivers treat that as an error (permerror, RFC 7208 §4.5)", len(recs)), quoteAll(recs)...).worse()
	}
	ev := []string{fmt.Sprintf("%s: %q", asked(a), recs[0])}
	s, err := parseSPF(recs[0])
	switch {
	case err != nil:
		return problem("the SPF record does not parse: "+err.Error()+" (permerror)", ev...).worse()
	case s.lookups > 10:
		return problem(fmt.Sprintf("the SPF record needs %d DNS lookups, more than the 10 allowed (permerror, RFC 7208 §4.6.4)", s.lookups), ev...).worse()
	case s.all == "+":
		return problem("the SPF record ends with +all: it lets every host send as "+o.Domain, ev...).worse()
	case s.all == "?":
		return problem("the SPF record ends with ?all: neutral, it protects nothing", ev...)
	case s.all == "" && !s.redirect:
		return problem("the SPF record has no all: hosts it does not list are neutral, not refused", ev...)
	}
	lookups := fmt.Sprintf("%d of 10 DNS lookups", s.lookups)
	if s.includes {
		// Not followed: a +all or more lookups inside them go unseen here.
		lookups = fmt.Sprintf("at least %d of 10 DNS lookups (include and redirect targets not followed)", s.lookups)
	}
	return pass(fmt.Sprintf("one SPF record, %s, ending %s", lookups, map[bool]string{true: "with a redirect", false: s.all + "all"}[s.all == ""]), ev...)
}

// quoteAll quotes up to three records and counts the rest: a name may
// hold hundreds.
func quoteAll(recs []string) []string {
	var out []string
	for i, r := range recs {
		if i == 3 {
			return append(out, fmt.Sprintf("and %d more", len(recs)-i))
		}
		out = append(out, fmt.Sprintf("%q", r))
	}
	return out
}

// tags reads a tag=value; list (DMARC, TLS-RPT).
func tags(rec string) map[string]string {
	m := map[string]string{}
	for part := range strings.SplitSeq(rec, ";") {
		k, v, _ := strings.Cut(part, "=")
		m[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return m
}

func (o *Options) judgeDMARC(f *Facts) outcome {
	a := f.Domain.DMARC
	if !a.usable() {
		return o.dnsFailed(a)
	}
	recs := records(a, "v=DMARC1", "; ")
	switch len(recs) {
	case 0:
		return problem("no DMARC record: receivers apply no policy to mail that fails SPF and DKIM", noRecord(a, "v=DMARC1")...)
	case 1:
	default:
		return problem(fmt.Sprintf("%d DMARC records: receivers ignore them all (RFC 7489 §6.6.3)", len(recs)), quoteAll(recs)...)
	}
	t := tags(recs[0])
	ev := []string{fmt.Sprintf("%s: %q", asked(a), recs[0])}
	if rua := t["rua"]; rua != "" {
		ev = append(ev, "aggregate reports go to "+rua)
	} else {
		ev = append(ev, "no rua: nobody gets aggregate reports")
	}
	switch p := strings.ToLower(t["p"]); p {
	case "reject", "quarantine":
		if sp := strings.ToLower(t["sp"]); sp == "none" {
			return problem("policy p="+p+", but sp=none: mail that fails DMARC for a subdomain is delivered all the same", ev...)
		}
		if pct, ok := t["pct"]; ok {
			// RFC 7489 §6.6.4: mail outside pct gets the next weaker policy.
			if n, err := strconv.Atoi(pct); err != nil || n < 0 || n > 100 {
				return problem("the DMARC record's pct="+pct+" is not a number from 0 to 100", ev...)
			} else if n < 100 {
				return problem(fmt.Sprintf("policy p=%s for only %d%% of the mail that fails DMARC (pct=%d): the rest gets the next weaker policy", p, n, n), ev...)
			}
		}
		return pass("policy p="+p, ev...)
	case "none":
		return problem("policy p=none: mail that fails DMARC is delivered all the same (monitoring only)", ev...)
	case "":
		return problem("the DMARC record has no p= policy: receivers ignore it", ev...)
	default:
		return problem(fmt.Sprintf("the DMARC record's policy p=%s is not none, quarantine or reject: receivers ignore it", p), ev...)
	}
}

func (o *Options) judgeMTASTS(f *Facts) outcome {
	s := f.Domain.STS
	switch {
	case s.Timeout:
		what := s.URL
		if what == "" { // the TXT lookup timed out: no policy asked for
			what = s.TXTName + " TXT (asked " + o.dns().ResolverName() + ")"
		}
		return outcome{fixed: true, state: o.Timeout.State, summary: fmt.Sprintf("no answer for %s within the %s s timeout", what, plugin.Secs(o.Timeout.Duration))}
	case s.NoRecord:
		return pass("no MTA-STS record (informational: senders may deliver over unauthenticated TLS)", s.TXTName+" TXT: none")
	case s.TXTErr != nil:
		return problem("the MTA-STS record is unusable: "+plugin.PlainErr(s.TXTErr), s.TXTName+" TXT")
	}
	ev := []string{fmt.Sprintf("%s TXT: id=%s (asked %s)", s.TXTName, s.Record.ID, s.TXTServer)}
	if s.FetchErr != nil {
		return problem("the MTA-STS policy could not be fetched from "+s.URL+": "+plugin.PlainErr(s.FetchErr)+" (senders then act as if there were none)", ev...)
	}
	p := s.Policy
	ev = append(ev, fmt.Sprintf("%s: mode %s, mx %s, max_age %d", s.URL, p.Mode, strings.Join(p.MX, " "), p.MaxAge))
	var unmatched []string
	for _, m := range f.Domain.MXs {
		if _, ok := p.MatchMX(m.Host); m.Host != "" && !ok {
			unmatched = append(unmatched, m.Host)
		}
	}
	switch {
	case p.Mode == "enforce" && len(unmatched) > 0:
		return problem("mode enforce, but the policy does not list MX "+strings.Join(unmatched, ", ")+": senders that honour it will not deliver there", ev...).worse()
	case p.Mode == "testing":
		return problem("mode testing: senders report failures but still deliver over unauthenticated TLS", ev...)
	case p.Mode == "none":
		return pass("mode none: the policy is withdrawn (informational)", ev...)
	case len(unmatched) > 0:
		return problem("the policy does not list MX "+strings.Join(unmatched, ", "), ev...)
	}
	if !f.Domain.hasHost() {
		return pass("mode "+p.Mode+" (no MX host to compare with its mx lines: see mx)", ev...)
	}
	return pass("mode "+p.Mode+", every MX listed", ev...)
}

func (o *Options) judgeTLSRPT(f *Facts) outcome {
	a := f.Domain.TLSRPT
	if !a.usable() {
		return o.dnsFailed(a)
	}
	recs := records(a, "v=TLSRPTv1", "; ")
	switch len(recs) {
	case 0:
		return pass("no TLS-RPT record (informational: nobody hears of failed TLS deliveries)", noRecord(a, "v=TLSRPTv1")...)
	case 1:
	default:
		return problem(fmt.Sprintf("%d TLS-RPT records: senders ignore them all (RFC 8460 §3)", len(recs)), quoteAll(recs)...)
	}
	ev := []string{fmt.Sprintf("%s: %q", asked(a), recs[0])}
	rua := tags(recs[0])["rua"]
	if rua == "" {
		return problem("the TLS-RPT record has no rua=: reports go nowhere", ev...)
	}
	for uri := range strings.SplitSeq(rua, ",") {
		if u := strings.ToLower(strings.TrimSpace(uri)); !strings.HasPrefix(u, "mailto:") && !strings.HasPrefix(u, "https:") {
			return problem(fmt.Sprintf("the TLS-RPT record's rua %q is no mailto: or https: URI (RFC 8460 §3): reports to it go nowhere", strings.TrimSpace(uri)), ev...)
		}
	}
	return pass("reports go to "+rua, ev...)
}

func (o *Options) judgeTLSA(f *Facts) outcome {
	d := f.Domain
	if !d.MX.usable() || d.MX.Rcode != hostdns.RcodeSuccess || !d.hasHost() {
		return skipped("no MX host to look up (see mx)")
	}
	var ev, unusable, validated []string
	var failed *DNSAnswer
	hosts := 0 // a null MX beside the others (see mx) has none to look up
	for i, m := range d.MXs {
		a := m.DNS
		if m.Host != "" {
			hosts++
		}
		switch {
		case m.Host == "":
		case !a.usable():
			if failed == nil {
				failed = &d.MXs[i].DNS
			}
			ev = append(ev, a.Name+" TLSA: lookup failed")
		case len(m.TLSA) == 0:
			ev = append(ev, fmt.Sprintf("%s TLSA: none (asked %s)", a.Name, a.Server))
		case a.AD:
			validated = append(validated, m.Host)
			ev = append(ev, fmt.Sprintf("%s TLSA: %s, DNSSEC-validated", a.Name, tlsaList(m.TLSA)))
		default:
			unusable = append(unusable, m.Host)
			ev = append(ev, fmt.Sprintf("%s TLSA: %s, not DNSSEC-validated: unusable (RFC 7672 §2.2)", a.Name, tlsaList(m.TLSA)))
		}
	}
	switch {
	case failed != nil:
		out := o.dnsFailed(*failed)
		out.evidence = ev
		return out
	case len(unusable) > 0:
		return problem("TLSA records of "+strings.Join(unusable, ", ")+" are not DNSSEC-validated: DANE cannot use them (sign the zone, or ask a validating resolver with --dns-server)", ev...)
	case len(validated) == 0:
		return pass("no TLSA records (informational: DANE not used)", ev...)
	case len(validated) < hosts:
		return problem("only "+strings.Join(validated, ", ")+" of the MX hosts publish TLSA records: DANE senders deliver to the others unauthenticated", ev...)
	}
	return pass("every MX host has DNSSEC-validated TLSA records", ev...)
}

func tlsaList(recs []tlsaudit.TLSA) string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Params())
	}
	return strings.Join(out, ", ")
}

// domainIDs are the rows of --domain.
var domainIDs = []string{idMX, idSPF, idDMARC, idMTASTS, idTLSRPT, idTLSA}

// onDomain wraps a row's judge: no facts when its lookups never ran.
func onDomain(judge func(*Options, *Facts) outcome) func(*Options, *Facts) outcome {
	return func(o *Options, f *Facts) outcome {
		if f.Domain == nil {
			return skipped("its lookups did not run (see above)")
		}
		return judge(o, f)
	}
}
