package tlscheck

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// judge turns the facts into findings, details and perfdata. It is the one
// place where check_smtp_tls decides states.
func (o *Options) judge(f *facts, r *plugin.Result, now time.Time) {
	s := f.S
	o.timings(s, r)
	if f.Err != nil {
		st := plugin.Critical
		if f.Err.Kind == probe.KindTimeout {
			st = o.Timeout.State
		}
		r.Add(st, "%s", o.describe(f.Err, s.String()))
		o.judgeScan(f, r)
		r.Transcript = s.Transcript.Lines()
		return
	}
	if s.TLS == nil {
		r.Add(plugin.Unknown, "tls: no TLS session was established (%s)", s)
		return
	}
	sess := tlsaudit.FromState(s.TLS, now)
	certs := s.TLS.PeerCertificates
	r.Detail("tls: %s %s via %s, SNI %s", tlsaudit.VersionName(sess.Version), tls.CipherSuiteName(sess.Cipher),
		modeName(o.mode), orNone(sess.ServerName))

	// Trust, validity periods and name: each problem is its own CRITICAL.
	roots := o.roots
	if !o.haveCAFile {
		pool, err := probe.SystemRootsFor(certs)
		if err != nil {
			r.Add(plugin.Unknown, "tls: cannot read the system roots: %v (give --ca-file)", err)
		}
		roots.Pool = pool
	}
	probs := tlsaudit.Verify(certs, o.verifyName(), roots, now)
	for _, p := range probs {
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

	if sess.Version < o.minTLS {
		r.Add(plugin.Critical, "tls: negotiated %s, below --min-tls %s", tlsaudit.VersionName(sess.Version), tlsaudit.VersionName(o.minTLS))
	}

	earliest, ok := tlsaudit.Earliest(sess.Chain)
	if ok && !expiredOrEarly(earliest, now) {
		switch o.days.Check(float64(earliest.DaysLeft)) {
		case threshold.Critical:
			r.Add(plugin.Critical, "%s", expiry(earliest))
		case threshold.Warning:
			r.Add(plugin.Warning, "%s", expiry(earliest))
		}
	}

	if n := len(sess.OCSPStaple); n > 0 {
		r.Detail("ocsp: a stapled response of %d bytes", n)
	} else {
		r.Detail("ocsp: no stapled response")
		if o.RequireOCSP {
			r.Add(plugin.Critical, "tls: the server staples no OCSP response (--require-ocsp-staple)")
		}
	}

	o.judgeScan(f, r)
	o.chainPerf(sess.Chain, r)
	if ok {
		r.Add(plugin.OK, "%s: %s via %s, chain verified for %s; earliest expiry: %s", s,
			tlsaudit.VersionName(sess.Version), modeName(o.mode), o.verifyName(), expiry(earliest))
	}
	r.Transcript = s.Transcript.Lines()
}

func expiredOrEarly(c tlsaudit.Cert, now time.Time) bool {
	return now.After(c.NotAfter) || now.Before(c.NotBefore)
}

// expiry words an element's remaining validity, naming it.
func expiry(c tlsaudit.Cert) string {
	return fmt.Sprintf("%s %q expires in %d days (%s)", tlsaudit.Role(&c), c.Name, c.DaysLeft, tlsaudit.Date(c.NotAfter))
}

// judgeElements checks keys and signatures of every element and lists each
// one in the long output.
func (o *Options) judgeElements(chain []tlsaudit.Cert, r *plugin.Result) {
	for i := range chain {
		c := &chain[i]
		role := tlsaudit.Role(c)
		hash := tlsaudit.Hash(c.SigAlg)
		r.Detail("[%d] %s %q issued by %q: %s %d bits, signed %s; valid %s .. %s (lifetime %d days), %d days left%s",
			c.Index, role, c.Name, c.IssuerName, c.KeyType, c.KeyBits, c.SigAlg, tlsaudit.Date(c.NotBefore),
			tlsaudit.Date(c.NotAfter), int(c.Lifetime.Hours()/24), c.DaysLeft, sanList(c))
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

// judgeScan reports which versions the server accepts.
func (o *Options) judgeScan(f *facts, r *plugin.Result) {
	if f.Scan == nil {
		return
	}
	var accepted, legacy, unsure []string
	var firstWhat string
	var firstState plugin.State
	for _, sr := range f.Scan {
		name := tlsaudit.VersionName(sr.Version)
		switch {
		case sr.Accepted:
			accepted = append(accepted, name)
			r.Detail("scan: %s accepted (%s)", name, tls.CipherSuiteName(sr.Cipher))
			if sr.Version < tls.VersionTLS12 {
				legacy = append(legacy, name)
			}
		case sr.Inconclusive:
			what := sr.Err.Error()
			st := plugin.Unknown
			if pe, ok := sr.Err.(*probe.Error); ok {
				what = o.describe(pe, f.S.String())
				if pe.Kind == probe.KindTimeout {
					st = o.Timeout.State
				}
			}
			r.Detail("scan: %s inconclusive: %s", name, what)
			if firstWhat == "" {
				firstWhat, firstState = what, st
			}
			unsure = append(unsure, name)
		default:
			r.Detail("scan: %s refused (%s)", name, probe.PlainErr(sr.Err))
		}
	}
	r.Detail("scan: accepted: %s", orNone(strings.Join(accepted, ", ")))
	if len(unsure) > 0 && f.Err == nil { // when the main session failed, its finding says it all
		r.Add(firstState, "scan: %s inconclusive: %s", strings.Join(unsure, ", "), firstWhat)
	}
	if len(legacy) > 0 {
		r.Add(o.legacyState, "scan: the server accepts %s", strings.Join(legacy, " and "))
	}
}

// timings emits the probe's phase timings and the handshake time.
func (o *Options) timings(s *probe.Session, r *plugin.Result) {
	var seen []probe.Phase
	for _, t := range s.Timings {
		if !contains(seen, t.Phase) {
			seen = append(seen, t.Phase)
			d, _ := s.Duration(t.Phase)
			r.AddPerf(plugin.Seconds(string(t.Phase), d, threshold.Pair{}))
		}
	}
	hs := probe.PhaseStartTLS
	if o.mode == probe.TLSImplicit {
		hs = probe.PhaseTLS
	}
	if d, ok := s.Duration(hs); ok {
		r.AddPerf(plugin.Seconds("handshake", d, threshold.Pair{}))
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

func contains(ps []probe.Phase, p probe.Phase) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
