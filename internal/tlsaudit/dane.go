package tlsaudit

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// TLSA usages, selectors and matching types (RFC 6698, RFC 7218 names).
const (
	UsagePKIXTA = 0 // not applicable to SMTP (RFC 7672 §3.1.3)
	UsagePKIXEE = 1 // not applicable to SMTP (RFC 7672 §3.1.3)
	UsageDANETA = 2
	UsageDANEEE = 3

	SelectorCert = 0
	SelectorSPKI = 1

	MatchExact  = 0
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// TLSA is one TLSA record.
type TLSA struct {
	Usage, Selector, MatchingType uint8
	Data                          []byte
	// Short: the RDATA (in Data) is cut short of the three numbers, so
	// the record is unusable, yet still one the zone publishes.
	Short bool
}

// String is the record's presentation form, the data shortened: "3 1 1
// a1b2c3d4…"; a short one's is RFC 3597's generic form, "\# 2 0301".
func (r TLSA) String() string {
	d := hex.EncodeToString(r.Data)
	if len(d) > 16 {
		d = d[:16] + "..."
	}
	if r.Short {
		return fmt.Sprintf("\\# %d %s", len(r.Data), d)
	}
	return fmt.Sprintf("%d %d %d %s", r.Usage, r.Selector, r.MatchingType, d)
}

// Params is "3 1 1": the three numbers without the data (String for a
// short record, which has none).
func (r TLSA) Params() string {
	if r.Short {
		return r.String()
	}
	return fmt.Sprintf("%d %d %d", r.Usage, r.Selector, r.MatchingType)
}

// Usable reports whether an SMTP client uses the record (RFC 7672 §3.1):
// DANE-TA or DANE-EE, with a known selector and matching type.
func (r TLSA) Usable() bool {
	return !r.Short && (r.Usage == UsageDANETA || r.Usage == UsageDANEEE) &&
		r.Selector <= SelectorSPKI && r.MatchingType <= MatchSHA512
}

// Matches reports whether the record's data is that of c under its
// selector and matching type.
func (r TLSA) Matches(c *x509.Certificate) bool {
	var sel []byte
	switch r.Selector {
	case SelectorCert:
		sel = c.Raw
	case SelectorSPKI:
		sel = c.RawSubjectPublicKeyInfo
	default:
		return false
	}
	switch r.MatchingType {
	case MatchExact:
		return bytes.Equal(sel, r.Data)
	case MatchSHA256:
		h := sha256.Sum256(sel)
		return bytes.Equal(h[:], r.Data)
	case MatchSHA512:
		h := sha512.Sum512(sel)
		return bytes.Equal(h[:], r.Data)
	}
	return false
}

// DANEMatch is the outcome of matching TLSA records against a sent chain.
type DANEMatch struct {
	Record   TLSA
	Cert     *Cert // the chain element it matched
	Usable   bool
	Matched  bool
	Problem  string // why a DANE-TA match does not count ("" when it does)
	Unusable string // why the record is ignored ("" when usable)
}

// MatchDANE matches each record against the chain the server sent
// (RFC 7672 §3.1): DANE-EE against the leaf; DANE-TA against any sent
// element, which the leaf's chain must then lead to by signatures.
// Usages 0 and 1 and unknown parameters are listed as unusable.
func MatchDANE(records []TLSA, certs []*x509.Certificate, chain []Cert) []DANEMatch {
	out := make([]DANEMatch, 0, len(records))
	for _, r := range records {
		m := DANEMatch{Record: r, Usable: r.Usable()}
		switch {
		case r.Short:
			m.Unusable = "its data is cut short of the usage, selector and matching type (RFC 6698 §2.1)"
		case r.Usage == UsagePKIXTA || r.Usage == UsagePKIXEE:
			m.Unusable = "usage PKIX-TA/PKIX-EE does not apply to SMTP (RFC 7672 §3.1.3)"
		case !m.Usable:
			m.Unusable = "unknown usage, selector or matching type"
		case len(certs) == 0:
		case r.Usage == UsageDANEEE:
			if r.Matches(certs[0]) {
				m.Matched, m.Cert = true, &chain[0]
			}
		default: // DANE-TA
			for i, c := range certs {
				if !r.Matches(c) {
					continue
				}
				m.Cert = &chain[i]
				if leadsTo(certs, i) {
					m.Matched, m.Problem = true, ""
					break
				}
				m.Problem = fmt.Sprintf("it matches %s %q, but the leaf's chain does not lead to it", Role(&chain[i]), chain[i].Name)
			}
			if m.Cert == nil {
				m.Matched, m.Cert = anchorNotSent(r, certs, len(chain))
			}
		}
		out = append(out, m)
	}
	return out
}

// anchorNotSent handles a "2 0 0" record, which carries the whole trust
// anchor certificate: the server need not send it (RFC 7672 §3.1.2), so the
// top of the sent chain must simply be signed by it.
func anchorNotSent(r TLSA, certs []*x509.Certificate, index int) (bool, *Cert) {
	if r.Selector != SelectorCert || r.MatchingType != MatchExact {
		return false, nil
	}
	ta, err := x509.ParseCertificate(r.Data)
	if err != nil {
		return false, nil
	}
	p := path(certs)
	top := certs[p[len(p)-1]]
	if string(top.RawIssuer) != string(ta.RawSubject) || top.CheckSignatureFrom(ta) != nil {
		return false, nil
	}
	c := Describe(ta, index, time.Now())
	return true, &c
}

// path follows the leaf's issuers through the sent certificates as far as
// signatures allow: the indexes from the leaf up.
func path(certs []*x509.Certificate) []int {
	out, seen := []int{0}, map[int]bool{0: true}
	for cur := 0; ; {
		next := -1
		for j, c := range certs {
			if !seen[j] && string(c.RawSubject) == string(certs[cur].RawIssuer) && certs[cur].CheckSignatureFrom(c) == nil {
				next = j
				break
			}
		}
		if next < 0 {
			return out
		}
		seen[next], cur = true, next
		out = append(out, next)
	}
}

// leadsTo reports whether the leaf chains to certs[ta] by signatures,
// through the other sent certificates.
func leadsTo(certs []*x509.Certificate, ta int) bool { return slices.Contains(path(certs), ta) }
