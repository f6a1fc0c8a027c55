package tlscheck

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/maildns"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// DANEFacts is what the TLSA lookup returned.
type DANEFacts struct {
	Name    string // _25._tcp.mx.example.com
	Server  string // who answered
	Records []tlsaudit.TLSA
	AD      bool  // the resolver vouched for the answer (DNSSEC)
	Rcode   int   // of the answer
	Err     error // the lookup itself failed
	Timeout bool

	Host        string // the host name looked up
	Alias       string // the host's fully CNAME-expanded name, if it is an alias
	AliasSecure bool   // DNSSEC vouched for the whole CNAME chain
	AtAlias     bool   // Name is the expanded name's (else the host's own)

	Duration time.Duration // the whole lookup, CNAME expansion included
}

// lookupTLSA asks for the TLSA records of _PORT._tcp.HOST (RFC 7672 §2.2).
// When HOST is an alias (CNAME) and DNSSEC vouches for the whole chain, the
// fully expanded name is asked first, and HOST itself only when that has no
// TLSA records (RFC 7672 §2.2.2); an insecure alias is only noted.
func (o *Options) lookupTLSA(ctx context.Context) *DANEFacts {
	host := strings.TrimSuffix(o.mxName(), ".")
	alias, secure := o.expandCNAME(ctx, host)
	if alias != "" && secure {
		d := o.tlsaAt(ctx, alias)
		d.AtAlias = d.Err != nil || len(d.Records) > 0 || (d.Rcode != hostdns.RcodeSuccess && d.Rcode != hostdns.RcodeNXDomain)
		if !d.AtAlias {
			d = o.tlsaAt(ctx, host)
		}
		d.Host, d.Alias, d.AliasSecure = host, alias, true
		return d
	}
	d := o.tlsaAt(ctx, host)
	d.Host, d.Alias = host, alias
	return d
}

// expandCNAME follows the CNAME chain in the answer for host's address
// records and returns the name it ends at ("" when host is no alias), and
// whether the resolver vouched for the answer. A failed lookup is no alias:
// the TLSA lookup that follows reports what is wrong with the resolver.
func (o *Options) expandCNAME(ctx context.Context, host string) (alias string, secure bool) {
	ans, err := o.query(ctx, host, maildns.TypeA)
	if err != nil {
		return "", false
	}
	target := map[string]string{}
	for _, rr := range ans.Records {
		if rr.Type == maildns.TypeCNAME {
			target[strings.ToLower(rr.Name)] = strings.ToLower(rr.Target)
		}
	}
	fqdn := strings.ToLower(host) + "."
	name := fqdn
	for hops := 0; hops < 16 && target[name] != ""; hops++ {
		name = target[name]
	}
	if name == fqdn {
		return "", false
	}
	return strings.TrimSuffix(name, "."), ans.AD
}

// tlsaAt asks for the TLSA records of _PORT._tcp.BASE.
func (o *Options) tlsaAt(ctx context.Context, base string) *DANEFacts {
	d := &DANEFacts{Name: "_" + strconv.Itoa(o.Port) + "._tcp." + base}
	recs, ans, err := o.dns().TLSA(ctx, d.Name)
	d.Server = ans.Server
	if err != nil {
		d.Err, d.Timeout = err, err == errDNSTimeout
		return d
	}
	d.Rcode, d.AD, d.Records = ans.Rcode, ans.AD, recs
	return d
}

// daneTrust is what a DNSSEC-validated TLSA match lets the judge skip.
type daneTrust int

const (
	daneNone daneTrust = iota // no validated match: PKIX rules as usual
	daneTA                    // DANE-TA: the trust anchor comes from DNS; names and expiry still apply
	daneEE                    // DANE-EE: only the key matters; names and expiry are not checked (RFC 7672 §3.1.1)
)

func usageName(u uint8) string {
	switch u {
	case tlsaudit.UsageDANETA:
		return "DANE-TA"
	case tlsaudit.UsageDANEEE:
		return "DANE-EE"
	case tlsaudit.UsagePKIXTA:
		return "PKIX-TA"
	case tlsaudit.UsagePKIXEE:
		return "PKIX-EE"
	}
	return "usage " + strconv.Itoa(int(u))
}
