package tlscheck

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// daneFacts is what the TLSA lookup returned.
type daneFacts struct {
	Name    string // _25._tcp.mx.example.com
	Server  string // who answered
	Records []tlsaudit.TLSA
	AD      bool  // the resolver vouched for the answer (DNSSEC)
	Rcode   int   // of the answer
	Err     error // the lookup itself failed
	Timeout bool
}

// lookupTLSA asks for the TLSA records of _PORT._tcp.NAME (RFC 7672 §2.2).
func (o *Options) lookupTLSA(ctx context.Context) *daneFacts {
	d := &daneFacts{Name: "_" + strconv.Itoa(o.Port) + "._tcp." + strings.TrimSuffix(o.mxName(), ".")}
	ans, err := o.query(ctx, d.Name, dns.TypeTLSA)
	d.Server = ans.Server
	if err != nil {
		d.Err, d.Timeout = err, err == errDNSTimeout
		return d
	}
	d.Rcode, d.AD = ans.Msg.Rcode, ans.Msg.AuthenticatedData
	for _, rr := range ans.Msg.Answer {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue
		}
		d.Records = append(d.Records, tlsaudit.TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
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
