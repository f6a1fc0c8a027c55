package tlscheck

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Judge turns the facts into findings, details and perfdata. It is the one
// place where check_smtp_tls decides states, and pure: now is when the
// certificates are judged.
func (o *Options) Judge(f *Facts, now time.Time) *plugin.Result {
	r := &plugin.Result{Service: Service}
	o.judge(f, r, now)
	o.beside(r, o.scanGaps(f), o.failedJobs(f))
	r.Transcript = f.S.Transcript.ForVerbosity(o.Verbosity())
	return r
}

// failedJobs judges the jobs that gave no facts.
func (o *Options) failedJobs(f *Facts) []plugin.Finding {
	fs := make([]plugin.Finding, len(f.Failed))
	for i, err := range f.Failed {
		fs[i] = plugin.JobFailure(err, o.Timeout, "jobs")
	}
	return fs
}

// beside adds findings judged beside the rest, once the rest is in: the
// status line names one when it decides the state, the long output
// otherwise.
func (o *Options) beside(r *plugin.Result, lists ...[]plugin.Finding) {
	var fs []plugin.Finding
	for _, l := range lists {
		fs = append(fs, l...)
	}
	r.Findings = append(r.Findings, fs...)
	for _, fi := range fs {
		if fi.State != r.State() {
			r.Detail("[%s] %s", fi.State, fi.Text)
		}
	}
}

// judge judges the main session and what the jobs found.
func (o *Options) judge(f *Facts, r *plugin.Result, now time.Time) {
	s := f.S
	o.timings(f, r)
	if e := tlsFailure(f.Err); e != nil {
		r.Add(plugin.FailureState(e, o.Timeout), "%s", o.Spelling().Describe(e, s, o.Timeout.Duration))
		o.judgeScan(f, r)
		if f.STS != nil {
			o.judgeSTS(f.STS, r) // the policy does not depend on the session
		}
		return
	}
	if s.TLS == nil {
		r.Add(plugin.Unknown, "tls: no TLS session was established (%s)", s)
		return
	}
	sess := tlsaudit.FromState(s.TLS, now)
	certs := s.TLS.PeerCertificates
	r.Detail("tls: %s %s via %s, SNI %s", tlsaudit.VersionName(sess.Version), tls.CipherSuiteName(sess.Cipher),
		modeName(o.Mode()), plugin.OrNone(sess.ServerName))

	// A DNSSEC-validated TLSA match changes what the PKIX problems below mean.
	trust, daneOK := daneNone, ""
	if f.DANE != nil {
		trust, daneOK = o.judgeDANE(f.DANE, certs, sess.Chain, r)
	}

	// Trust, validity periods and name: each problem is its own CRITICAL,
	// unless a DANE match takes its verdict away (RFC 7672 §3.1).
	roots := f.Roots
	if f.RootsErr != nil {
		// Without the roots, trust cannot be judged, nor the chain
		// called good: that is the verdict.
		r.Add(plugin.Unknown, "%s", plugin.RootsUnreadableText(f.RootsErr))
		return
	}
	probs := tlsaudit.Verify(certs, o.verifyName(), roots, now)
	kept, verifiedFor := 0, o.verifyName()
	for _, p := range probs {
		// Under DANE-TA the TLSA base domain is a name the certificate
		// may carry too: the expanded one, when the records came from it
		// (RFC 7672 §3.2.2).
		if trust == daneTA && p.Kind == tlsaudit.NameMismatch && f.DANE.AtAlias && certs[0].VerifyHostname(f.DANE.Alias) == nil {
			r.Detail("dane: certificate %q is valid for %s, the TLSA base domain (RFC 7672 §3.2.2)", p.Cert.Name, f.DANE.Alias)
			verifiedFor = f.DANE.Alias
			continue
		}
		if relaxed(trust, p) {
			r.Detail("dane: not judged under %s (RFC 7672 §3.1): %s", map[daneTrust]string{daneTA: "DANE-TA", daneEE: "DANE-EE"}[trust], p.Text)
			continue
		}
		kept++
		r.Add(plugin.Critical, "%s", p.Text)
	}
	if len(probs) == 0 {
		r.Detail("chain: verified for %s against %s", o.verifyName(), roots.Label)
	}
	if i := tlsaudit.Ordered(certs); i >= 0 && len(probs) == 0 {
		r.Add(plugin.Warning, "chain: %q is followed by %q, not by its issuer %q: the server sends its chain out of order",
			sess.Chain[i].Name, sess.Chain[i+1].Name, sess.Chain[i].IssuerName)
	}

	o.judgeElements(sess.Chain, r)

	if sess.Version < o.MinVersion() {
		r.Add(plugin.Critical, "tls: negotiated %s, below --min-tls %s", tlsaudit.VersionName(sess.Version), tlsaudit.VersionName(o.MinVersion()))
	}

	earliest, ok := tlsaudit.Earliest(sess.Chain)
	if ok && !expiredOrEarly(earliest, now) {
		st := plugin.OK
		switch o.days.Check(float64(earliest.DaysLeft)) {
		case threshold.Critical:
			st = plugin.Critical
		case threshold.Warning:
			st = plugin.Warning
		}
		switch {
		case st != plugin.OK && trust == daneEE:
			r.Detail("dane: not judged under DANE-EE (RFC 7672 §3.1.1): %s", expiry(earliest))
		case st != plugin.OK:
			r.Add(st, "%s", expiry(earliest))
		}
	}

	o.judgeOCSP(sess.OCSPStaple, certs, roots.Certs, now, r)
	o.judgeScan(f, r)
	o.chainPerf(sess.Chain, r)
	if ok {
		chainText := "chain verified for " + verifiedFor
		switch {
		case len(probs) > 0 && kept == 0 && trust == daneEE:
			chainText = fmt.Sprintf("chain not judged under DANE-EE (%d PKIX %s ignored)", len(probs), map[bool]string{true: "problem", false: "problems"}[len(probs) == 1])
		case len(probs) > 0 && kept == 0:
			chainText = "chain verified for " + verifiedFor + " up to the DANE-TA trust anchor"
		case kept > 0: // each is a finding of its own
			chainText = fmt.Sprintf("chain NOT accepted for %s (%d %s)", verifiedFor, kept, map[bool]string{true: "problem", false: "problems"}[kept == 1])
		}
		overview := fmt.Sprintf("%s: %s via %s, %s; earliest expiry: %s", s,
			tlsaudit.VersionName(sess.Version), modeName(o.Mode()), chainText, expiry(earliest))
		if kept > 0 { // the first detail: an OK finding would read "[OK] … NOT accepted"
			r.Details = append([]string{overview}, r.Details...)
		} else {
			r.Add(plugin.OK, "%s", overview)
		}
	}
	if daneOK != "" {
		r.Add(plugin.OK, "%s", daneOK)
	}
	if f.STS != nil {
		o.judgeSTS(f.STS, r)
	}
}

// judgeOCSP reads a stapled OCSP response: revoked is CRITICAL, unknown or
// stale (nextUpdate passed) WARNING, unusable WARNING.
func (o *Options) judgeOCSP(staple []byte, certs, caCerts []*x509.Certificate, now time.Time, r *plugin.Result) {
	if len(staple) == 0 {
		r.Detail("ocsp: no stapled response")
		if o.RequireOCSP {
			r.Add(plugin.Critical, "tls: the server staples no OCSP response (--require-ocsp-staple)")
		}
		return
	}
	resp, err := tlsaudit.ParseStaple(staple, certs, caCerts, now)
	if err != nil {
		r.Add(plugin.Warning, "ocsp: the stapled response (%d bytes) cannot be used: %v", len(staple), err)
		return
	}
	name := tlsaudit.Name(certs[0])
	next := "none given"
	if !resp.NextUpdate.IsZero() {
		next = tlsaudit.Date(resp.NextUpdate)
	}
	sig := "signature verified"
	if !resp.Verified {
		sig = "signature not checked: the issuer of the certificate is unknown"
	}
	r.Detail("ocsp: stapled response: %s, this update %s, next update %s (%s)", resp.Status, tlsaudit.Date(resp.ThisUpdate), next, sig)
	switch resp.Status {
	case tlsaudit.OCSPRevoked:
		r.Add(plugin.Critical, "ocsp: certificate %q was revoked on %s (%s), says the stapled OCSP response",
			name, tlsaudit.Date(resp.RevokedAt), tlsaudit.ReasonName(resp.RevocationReason))
	case tlsaudit.OCSPUnknown:
		r.Add(plugin.Warning, "ocsp: the stapled OCSP response says status unknown for certificate %q", name)
	}
	switch hours := resp.NextUpdate.Sub(now).Hours(); {
	case resp.Stale:
		r.Add(plugin.Warning, "ocsp: the stapled OCSP response is stale: its next update was due %s", tlsaudit.Date(resp.NextUpdate))
	case resp.NextUpdate.IsZero():
	case o.OCSPCritical > 0 && hours < float64(o.OCSPCritical):
		r.Add(plugin.Critical, "ocsp: the stapled OCSP response is valid for %.0f more hours (next update %s; --ocsp-critical %d)", hours, next, o.OCSPCritical)
	case o.OCSPWarning > 0 && hours < float64(o.OCSPWarning):
		r.Add(plugin.Warning, "ocsp: the stapled OCSP response is valid for %.0f more hours (next update %s; --ocsp-warning %d)", hours, next, o.OCSPWarning)
	}
}

func expiredOrEarly(c tlsaudit.Cert, now time.Time) bool {
	return now.After(c.NotAfter) || now.Before(c.NotBefore)
}

// expiry words an element's remaining validity, naming it.
func expiry(c tlsaudit.Cert) string {
	if c.DaysLeft < 0 {
		return fmt.Sprintf("%s %q expired on %s", tlsaudit.Role(&c), c.Name, tlsaudit.Date(c.NotAfter))
	}
	return fmt.Sprintf("%s %q expires in %s (%s)", tlsaudit.Role(&c), c.Name, plugin.Count(c.DaysLeft, "day"), tlsaudit.Date(c.NotAfter))
}

// judgeElements checks keys and signatures of every element and lists each
// one in the long output.
func (o *Options) judgeElements(chain []tlsaudit.Cert, r *plugin.Result) {
	for i := range chain {
		c := &chain[i]
		role := tlsaudit.Role(c)
		hash := tlsaudit.Hash(c.SigAlg)
		r.Detail("[%d] %s %q issued by %q: %s %d bits, signed %s; valid %s .. %s (lifetime %s), %s left%s",
			c.Index, role, c.Name, c.IssuerName, c.KeyType, c.KeyBits, c.SigAlg, tlsaudit.Date(c.NotBefore),
			tlsaudit.Date(c.NotAfter), plugin.Count(int(c.Lifetime.Hours()/24), "day"), plugin.Count(c.DaysLeft, "day"), sanList(c))
		if c.KeyType == "RSA" && c.KeyBits < o.MinRSABits {
			r.Add(plugin.Critical, "%s %q has a %d-bit RSA key (--min-rsa-bits %d)", role, c.Name, c.KeyBits, o.MinRSABits)
		}
		if c.Index > 0 && c.SelfSigned {
			continue // a root's own signature is not what trust rests on
		}
		switch hash {
		case "SHA-1":
			r.Add(o.sha1State, "%s %q is signed with SHA-1 (%s)", role, c.Name, c.SigAlg)
		case "MD5", "MD2":
			r.Add(o.md5State, "%s %q is signed with %s (%s)", role, c.Name, hash, c.SigAlg)
		}
	}
}

func sanList(c *tlsaudit.Cert) string {
	names := append(append([]string{}, c.DNSNames...), c.IPs...)
	if len(names) == 0 {
		return ""
	}
	if len(names) > 8 {
		names = append(names[:8], fmt.Sprintf("and %d more", len(names)-8))
	}
	return "; SAN " + strings.Join(names, ", ")
}

// judgeScan reports which versions the server accepts; the version the
// main session negotiated is accepted whatever its scan handshake showed.
// The versions it could not try are judged in scanGaps.
func (o *Options) judgeScan(f *Facts, r *plugin.Result) {
	if f.Scan == nil {
		return
	}
	var accepted, refused, failed, broken, untried, legacy []string
	for _, sr := range f.Scan {
		name := tlsaudit.VersionName(sr.Version)
		switch main := mainVersion(f); {
		case sr.Accepted:
			r.Detail("scan: %s accepted (%s)", name, tls.CipherSuiteName(sr.Cipher))
		case main != nil && main.Version == sr.Version:
			r.Detail("scan: %s accepted by the main session (%s)", name, tls.CipherSuiteName(main.CipherSuite))
		case sr.Inconclusive:
			r.Detail("scan: %s could not be tried", name) // why: once, in scanGaps
			untried = append(untried, name)
			continue
		case sr.Negotiated:
			r.Detail("scan: %s negotiated, then failed (%s)", name, plugin.PlainErr(sr.Err))
			failed = append(failed, name)
			continue
		case internalError(sr.Err): // the server's own failure, whatever the version
			r.Detail("scan: %s failed inside the server's TLS setup before negotiating (%s): not a refusal of the version", name, plugin.PlainErr(sr.Err))
			broken = append(broken, name)
			continue
		default:
			r.Detail("scan: %s refused (%s)", name, plugin.PlainErr(sr.Err))
			refused = append(refused, name)
			continue
		}
		accepted = append(accepted, name)
		if sr.Version < tls.VersionTLS12 {
			legacy = append(legacy, name)
		}
	}
	summary := "scan: accepted: " + plugin.OrNone(strings.Join(accepted, ", "))
	if len(refused) > 0 || len(untried) > 0 {
		summary += "; refused: " + plugin.OrNone(strings.Join(refused, ", "))
	}
	if len(failed) > 0 {
		summary += "; negotiated, then failed: " + strings.Join(failed, ", ")
	}
	if len(broken) > 0 {
		summary += "; failed inside the server's TLS setup: " + strings.Join(broken, ", ")
	}
	if len(untried) > 0 {
		summary += "; could not be tried: " + strings.Join(untried, ", ")
	}
	r.Detail("%s", summary)
	if len(legacy) > 0 {
		r.Add(o.legacyState, "scan: the server accepts %s", strings.Join(legacy, " and "))
	}
}

// internalError reports a handshake the server ended with internal_error
// (alert 80), which tells of its own TLS setup, not of the version asked.
func internalError(err error) bool {
	a, ok := plugin.RemoteAlert(err)
	return ok && a == 80
}

// mainVersion is the main session's TLS state when its handshake succeeded.
func mainVersion(f *Facts) *tls.ConnectionState {
	if tlsFailure(f.Err) != nil {
		return nil
	}
	return f.S.TLS
}

// scanGaps judges the scan handshakes that showed nothing about their
// version, one finding per cause naming the versions and the cause once:
// the server turning the connection away (a reply, a closed or refused
// connection) is WARNING, the deadline -t's state, a failure on this side
// UNKNOWN. When the main session failed, its finding says it all.
func (o *Options) scanGaps(f *Facts) []plugin.Finding {
	if tlsFailure(f.Err) != nil {
		return nil
	}
	type gap struct {
		state    plugin.State
		versions []string
	}
	var order []string
	gaps := map[string]*gap{}
	for _, sr := range f.Scan {
		if sr.Accepted || !sr.Inconclusive {
			continue
		}
		if m := mainVersion(f); m != nil && m.Version == sr.Version {
			continue
		}
		st, why := plugin.Unknown, plugin.PlainErr(sr.Err)+" - a failure on this side: run with -vvv and report it"
		if sr.Err == errNotStarted {
			st, why = o.Timeout.State, "the -t deadline passed before their turn (the scan's handshakes run one at a time): raise -t"
		}
		if pe, ok := sr.Err.(*probe.Error); ok {
			what, _ := o.Spelling().Explain(pe, f.S, o.Timeout.Duration)
			switch pe.Kind {
			case probe.KindTimeout:
				st, why = o.Timeout.State, fmt.Sprintf("%s: %s - the scan's handshakes run one at a time: raise -t", pe.Phase, what)
			case probe.KindReply, probe.KindClosed, probe.KindReset, probe.KindRefused, probe.KindProtocol, probe.KindTLS:
				st, why = plugin.Warning, fmt.Sprintf("%s: %s - the server turned the scan's connection away, not the version; "+
					"the scan opens one connection at a time beside the main session: does the server limit connections per client?", pe.Phase, what)
			}
		}
		if gaps[why] == nil {
			gaps[why] = &gap{state: st}
			order = append(order, why)
		}
		gaps[why].versions = append(gaps[why].versions, tlsaudit.VersionName(sr.Version))
	}
	var fs []plugin.Finding
	for _, why := range order {
		g := gaps[why]
		fs = append(fs, plugin.Finding{State: g.state, Text: "scan: " + strings.Join(g.versions, ", ") + " could not be tried: " + why})
	}
	return fs
}

// timings emits the perfdata of the main session, every plugin's (each
// phase, total and time), and the TLS handshake's time.
func (o *Options) timings(f *Facts, r *plugin.Result) {
	plugin.SessionPerf(r, f.S, f.Total, nil, threshold.Pair{})
	hs := probe.PhaseStartTLS
	if o.Mode() == probe.TLSImplicit {
		hs = probe.PhaseTLS
	}
	if d, ok := f.S.Duration(hs); ok {
		r.AddPerf(plugin.Seconds("handshake", d, threshold.Pair{}))
	}
	// The work beside the main session: the scan's handshakes one after
	// the other, the lookups each on its own.
	if f.Scan != nil {
		var d time.Duration
		for _, sr := range f.Scan {
			d += sr.Duration
		}
		r.AddPerf(plugin.Seconds("scan", d, threshold.Pair{}))
	}
	if f.DANE != nil {
		r.AddPerf(plugin.Seconds("dane_lookup", f.DANE.Duration, threshold.Pair{}))
	}
	if f.STS != nil {
		r.AddPerf(plugin.Seconds("mta_sts_lookup", f.STS.Lookup, threshold.Pair{}))
		if f.STS.URL != "" {
			r.AddPerf(plugin.Seconds("mta_sts_fetch", f.STS.Fetch, threshold.Pair{}))
		}
	}
}

func (o *Options) chainPerf(chain []tlsaudit.Cert, r *plugin.Result) {
	if len(chain) == 0 {
		return
	}
	e, _ := tlsaudit.Earliest(chain)
	r.AddPerf(plugin.Perf{Label: "cert_days", Value: float64(chain[0].DaysLeft), Warn: o.days.Warn, Crit: o.days.Crit},
		plugin.Perf{Label: "chain_min_days", Value: float64(e.DaysLeft), Warn: o.days.Warn, Crit: o.days.Crit})
}

func modeName(m probe.TLSMode) string {
	if m == probe.TLSImplicit {
		return "implicit TLS"
	}
	return "STARTTLS"
}

// judgeDANE reports the TLSA records against the chain the server sent and
// says what a validated match changes.
func (o *Options) judgeDANE(d *DANEFacts, certs []*x509.Certificate, chain []tlsaudit.Cert, r *plugin.Result) (daneTrust, string) {
	asked := ""
	if d.Server != "" {
		asked = " (asked " + d.Server + ")"
	}
	switch {
	case d.Alias != "" && !d.AliasSecure:
		r.Detail("dane: %s is an alias (CNAME) of %s, without DNSSEC validation: TLSA records are looked up at the host's own name only (RFC 7672 §2.2.2)", d.Host, d.Alias)
	case d.AtAlias:
		r.Detail("dane: %s is an alias (CNAME) of %s, DNSSEC-validated: its TLSA records count (RFC 7672 §2.2.2)", d.Host, d.Alias)
	case d.Alias != "":
		r.Detail("dane: %s is an alias (CNAME) of %s, DNSSEC-validated, which has no TLSA records: the host's own count (RFC 7672 §2.2.2)", d.Host, d.Alias)
	}
	switch {
	case d.Timeout:
		r.Add(o.Timeout.State, "dane: no answer for the TLSA records at %s within the %s s timeout%s", d.Name, plugin.Secs(o.Timeout.Duration), asked)
		return daneNone, ""
	case d.Err != nil:
		r.Add(plugin.Critical, "dane: the TLSA lookup for %s failed: %v", d.Name, d.Err)
		return daneNone, ""
	case d.Rcode != hostdns.RcodeSuccess && d.Rcode != hostdns.RcodeNXDomain:
		r.Add(plugin.Critical, "dane: the TLSA lookup for %s failed: %s%s - %s",
			d.Name, hostdns.Meaning(d.Rcode), asked, hostdns.RcodeAdvice(d.Rcode))
		return daneNone, ""
	case len(d.Records) == 0:
		r.Add(plugin.Critical, "dane: no TLSA records at %s%s: the server cannot be authenticated by DANE (--dane)", d.Name, asked)
		return daneNone, ""
	}
	matches := tlsaudit.MatchDANE(d.Records, certs, chain)
	// RFC 7672 §2.2: TLSA records DNSSEC does not vouch for are unusable;
	// every line about them says so, lest a reader take them for a verdict.
	unusable := ""
	if !d.AD {
		unusable = " (not DNSSEC-validated: unusable)"
	}
	var usable, unmatched []string
	trust, okText := daneNone, ""
	var first *tlsaudit.DANEMatch
	for i := range matches {
		m := &matches[i]
		switch {
		case !m.Usable:
			r.Detail("dane: TLSA %s ignored: %s%s", m.Record, m.Unusable, unusable)
			continue
		case m.Matched:
			r.Detail("dane: TLSA %s (%s) matches %s %q%s", m.Record, usageName(m.Record.Usage), tlsaudit.Role(m.Cert), m.Cert.Name, unusable)
			if first == nil || (m.Record.Usage == tlsaudit.UsageDANEEE && first.Record.Usage != tlsaudit.UsageDANEEE) {
				first = m
			}
		case m.Problem != "":
			r.Detail("dane: TLSA %s (%s) does not count: %s%s", m.Record, usageName(m.Record.Usage), m.Problem, unusable)
			unmatched = append(unmatched, m.Record.String())
		default:
			r.Detail("dane: TLSA %s (%s) matches no certificate the server sent%s", m.Record, usageName(m.Record.Usage), unusable)
			unmatched = append(unmatched, m.Record.String())
		}
		usable = append(usable, m.Record.String())
	}
	if !d.AD {
		// Neither pass nor fail: the chain is judged by PKIX, as without TLSA records.
		r.Add(o.daneInsecureState, "dane: the TLSA answer for %s from %s lacks the AD bit: not DNSSEC-validated, so its records are unusable (RFC 7672 §2.2) and the certificate is judged by PKIX alone - is the resolver validating, and is the zone signed?",
			d.Name, d.Server)
		return daneNone, ""
	}
	r.Detail("dane: the TLSA answer for %s is DNSSEC-validated (AD bit set by %s)", d.Name, d.Server)
	switch {
	case len(usable) == 0:
		r.Add(plugin.Critical, "dane: none of the %d TLSA records at %s applies to SMTP (usages 0 and 1 do not, RFC 7672 §3.1.3)", len(d.Records), d.Name)
	case first == nil:
		r.Add(plugin.Critical, "dane: no TLSA record at %s matches the chain the server sent: %s", d.Name, strings.Join(unmatched, ", "))
	default:
		okText = fmt.Sprintf("dane: TLSA %s matches %s %q", first.Record.Params(), tlsaudit.Role(first.Cert), first.Cert.Name)
		trust = daneTA
		if first.Record.Usage == tlsaudit.UsageDANEEE {
			trust = daneEE
		}
	}
	return trust, okText
}

// judgeSTS checks that the MX name is among the policy's mx patterns.
func (o *Options) judgeSTS(s *STSFacts, r *plugin.Result) {
	host := o.mxName()
	switch {
	case s.Timeout:
		r.Add(o.Timeout.State, "mta-sts: no answer for %s within the %s s timeout", orURL(s), plugin.Secs(o.Timeout.Duration))
		return
	case s.TXTErr != nil:
		r.Add(plugin.Critical, "mta-sts: no MTA-STS record at %s: %v", s.TXTName, s.TXTErr)
		return
	}
	r.Detail("mta-sts: %s: v=STSv1, id %s", s.TXTName, s.Record.ID)
	if s.FetchErr != nil {
		r.Add(plugin.Critical, "mta-sts: cannot get the policy %s: %v", s.URL, s.FetchErr)
		return
	}
	p := s.Policy
	r.Detail("mta-sts: policy %s: mode %s, max_age %d s, mx %s", s.URL, p.Mode, p.MaxAge, plugin.OrNone(strings.Join(p.MX, ", ")))
	pat, ok := p.MatchMX(host)
	switch {
	case p.Mode == "none":
		r.Add(plugin.OK, "mta-sts: %s's policy is mode none (MTA-STS switched off)", s.Domain)
	case ok:
		r.Add(plugin.OK, "mta-sts: %s matches mx %s of %s's policy (mode %s)", host, pat, s.Domain, p.Mode)
	case p.Mode == "enforce":
		r.Add(plugin.Critical, "mta-sts: %s matches no mx of %s's policy (mode enforce: senders will not deliver to it): %s", host, s.Domain, strings.Join(p.MX, ", "))
	default:
		r.Add(plugin.Warning, "mta-sts: %s matches no mx of %s's policy (mode testing: failures are only reported): %s", host, s.Domain, strings.Join(p.MX, ", "))
	}
}

// relaxed reports whether a validated DANE match takes the problem's
// verdict away: DANE-EE every PKIX problem (trust, name, validity), DANE-TA
// only the trust in a system or --ca-file root.
func relaxed(t daneTrust, p tlsaudit.Problem) bool {
	switch t {
	case daneEE:
		return true
	case daneTA:
		return p.Kind == tlsaudit.UnknownIssuer || p.Kind == tlsaudit.SelfSigned
	}
	return false
}
