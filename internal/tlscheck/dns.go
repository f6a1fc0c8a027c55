package tlscheck

import (
	"context"

	"github.com/smtpcheck/smtpcheck/internal/maildns"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// DNS for --dane and --mta-sts goes through maildns (for the DO and AD
// bits), shared with check_smtp_security --domain. The addresses of
// -H and of the MTA-STS policy host are looked up by the system resolver
// (/etc/hosts, then DNS), or with --dns-server by DNS alone, from that
// server: every lookup of the check then asks it.

// resolvConf is where the system resolver is configured; a variable for tests.
var resolvConf = "/etc/resolv.conf"

// dns is the client of every lookup: --dns-server, else resolv.conf's.
func (o *Options) dns() maildns.Client {
	return maildns.Client{Server: o.dnsServer, ResolvConf: resolvConf}
}

// resolver looks up addresses for the probe and the policy fetch: nil, the
// system's, or one asking --dns-server alone, without /etc/hosts.
func (o *Options) resolver() probe.HostResolver { return o.dns().Resolver() }

// dnsAnswer is one DNS answer and who gave it.
type dnsAnswer = maildns.Answer

// errDNSTimeout marks a query that the deadline ended.
var errDNSTimeout = maildns.ErrTimeout

// query asks name/qtype with recursion and the DO bit (maildns.Query).
func (o *Options) query(ctx context.Context, name string, qtype uint16) (dnsAnswer, error) {
	return o.dns().Query(ctx, name, qtype)
}
