package maildns

import (
	"context"
	"slices"

	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// TLSA asks for the TLSA records at name (_25._tcp.HOST). The answer's AD
// bit says whether they count: RFC 7672 §2.2 makes records DNSSEC does not
// vouch for unusable.
func (c Client) TLSA(ctx context.Context, name string) ([]tlsaudit.TLSA, Answer, error) {
	ans, err := c.Query(ctx, name, TypeTLSA)
	if err != nil {
		return nil, ans, err
	}
	var out []tlsaudit.TLSA
	for _, rr := range ans.Records {
		if rr.Type == TypeTLSA {
			out = append(out, rr.TLSA)
		}
	}
	return out, ans, nil
}

// parseTLSA reads a TLSA record's RDATA (RFC 6698 §2.1): usage, selector
// and matching type, a byte each, then the association data, which may be
// empty. Shorter data makes a Short record: published, but unusable.
func parseTLSA(rdata []byte) tlsaudit.TLSA {
	if len(rdata) < 3 {
		return tlsaudit.TLSA{Short: true, Data: slices.Clone(rdata)}
	}
	return tlsaudit.TLSA{Usage: rdata[0], Selector: rdata[1], MatchingType: rdata[2], Data: slices.Clone(rdata[3:])}
}
