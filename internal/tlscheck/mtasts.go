package tlscheck

import (
	"context"

	"github.com/smtpcheck/smtpcheck/internal/maildns"
)

// STSFacts is what the MTA-STS lookup and policy fetch returned.
type STSFacts = maildns.STS

// maxPolicy bounds the policy body; real ones are a few hundred bytes.
const maxPolicy = maildns.MaxPolicy

// lookupSTS reads _mta-sts.DOMAIN and then fetches the policy (RFC 8461 §3),
// trusting --ca-file or the system roots.
func (o *Options) lookupSTS(ctx context.Context) *STSFacts {
	return o.dns().LookupSTS(ctx, o.MTASTS, o.MTASTSURLBase, o.Roots())
}

func (o *Options) stsBase() string {
	if o.MTASTSURLBase != "" {
		return o.MTASTSURLBase
	}
	return "https://mta-sts." + o.MTASTS
}

func orURL(s *STSFacts) string {
	if s.URL != "" {
		return s.URL
	}
	return s.TXTName
}
