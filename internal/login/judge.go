package login

import (
	"context"
	"errors"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// CredState is the state of credentials that could not be had: a secret
// store or token endpoint that did not answer in time is a timeout like
// any other; any other failure means the check could not run.
func CredState(err error, timeout plugin.Timeout) plugin.State {
	if errors.Is(err, context.DeadlineExceeded) {
		return timeout.State
	}
	return plugin.Unknown
}

// Judge words credentials withheld on s and gives their state: UNKNOWN
// where our user's configuration (--no-tls) or this host (unreadable
// system roots) is at fault, CRITICAL where the server cannot be talked
// to safely. caFile is --ca-file, named in the advice.
func (r Refusal) Judge(s *probe.Session, caFile string) (plugin.State, string) {
	switch {
	case r == RefuseNoStartTLS:
		return plugin.Critical, plugin.CredentialsNoStartTLS(s.String())
	case r == RefuseNoTLS:
		return plugin.Unknown, "credentials not sent: --no-tls leaves the connection unencrypted - add --allow-plaintext to send them anyway, or drop --no-tls"
	case plugin.RootsUnreadable(s.VerifyErr):
		return plugin.Unknown, plugin.RootsUnreadableText(s.VerifyErr) + "; credentials not sent"
	}
	return plugin.Critical, plugin.CredentialsUnverified(s.String(), s.VerifyErr, caFile)
}
