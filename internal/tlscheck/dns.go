package tlscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/miekg/dns"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// DNS for --dane and --mta-sts goes through miekg/dns rather than Go's
// resolver: DANE needs the DO bit in the query and the AD bit of the
// answer, which net.Resolver neither sends nor shows. The addresses of -H
// and of the MTA-STS policy host are looked up by the system resolver
// (/etc/hosts, then DNS), or with --dns-server by DNS alone, from that
// server (resolver below): every lookup of the check then asks it.

// resolvConf is where the system resolver is configured; a variable for tests.
var resolvConf = "/etc/resolv.conf"

// dnsServers are the servers to ask: --dns-server, else those of resolv.conf.
func (o *Options) dnsServers() ([]string, error) {
	if o.dnsServer != "" {
		return []string{o.dnsServer}, nil
	}
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return nil, fmt.Errorf("no resolver: %v (give --dns-server)", err)
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no nameserver in %s (give --dns-server)", resolvConf)
	}
	return out, nil
}

// resolver looks up addresses for the probe and the policy fetch: nil, the
// system's, or one asking --dns-server alone, without /etc/hosts.
func (o *Options) resolver() probe.HostResolver {
	if o.dnsServer == "" {
		return nil
	}
	return &hostdns.Resolver{Servers: []string{o.dnsServer}}
}

// resolverName says who resolver asks, for messages.
func (o *Options) resolverName() string {
	if o.dnsServer == "" {
		return "the system resolver"
	}
	return o.dnsServer
}

// dnsAnswer is one DNS answer and who gave it.
type dnsAnswer struct {
	Msg    *dns.Msg
	Server string
}

// errDNSTimeout marks a query that the deadline ended.
var errDNSTimeout = errors.New("no answer before the deadline")

// query asks name/qtype with recursion and the DO bit (so that a validating
// resolver sets AD), over UDP and again over TCP when truncated. Servers
// are tried in order until one answers.
func (o *Options) query(ctx context.Context, name string, qtype uint16) (dnsAnswer, error) {
	servers, err := o.dnsServers()
	if err != nil {
		return dnsAnswer{}, err
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true // RFC 6840 §5.7: ask for AD explicitly
	m.SetEdns0(4096, true)
	var lastErr error
	for _, server := range servers {
		for _, proto := range []string{"udp", "tcp"} {
			c := &dns.Client{Net: proto}
			if dl, ok := ctx.Deadline(); ok {
				c.Timeout = time.Until(dl)
			}
			r, _, err := c.ExchangeContext(ctx, m, server)
			// The client's own timeout is the deadline too; it may fire a
			// moment before ctx reports it.
			var ne net.Error
			if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
				return dnsAnswer{Server: server}, errDNSTimeout
			}
			if err != nil {
				lastErr = fmt.Errorf("%s: %v", server, err)
				break
			}
			if r.Truncated && proto == "udp" {
				continue
			}
			return dnsAnswer{Msg: r, Server: server}, nil
		}
	}
	return dnsAnswer{}, lastErr
}
