package maildns

import (
	"context"
	"encoding/hex"

	"github.com/miekg/dns"

	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// TLSA asks for the TLSA records at name (_25._tcp.HOST). The answer's AD
// bit says whether they count: RFC 7672 §2.2 makes records DNSSEC does not
// vouch for unusable.
func (c Client) TLSA(ctx context.Context, name string) ([]tlsaudit.TLSA, Answer, error) {
	ans, err := c.Query(ctx, name, dns.TypeTLSA)
	if err != nil {
		return nil, ans, err
	}
	var out []tlsaudit.TLSA
	for _, rr := range ans.Msg.Answer {
		t, ok := rr.(*dns.TLSA)
		if !ok {
			continue
		}
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue
		}
		out = append(out, tlsaudit.TLSA{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out, ans, nil
}
