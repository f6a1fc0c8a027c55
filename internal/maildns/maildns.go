// Package maildns asks the DNS what a mail domain publishes about its
// transport security (MX, TXT, TLSA) with the DNSSEC OK bit, so that the
// answer's AD bit says whether a validating resolver vouched for it, and
// fetches MTA-STS policies over HTTPS. check_smtp_tls (--dane,
// --mta-sts) and check_smtp_security (--domain) share it, and with it
// --dns-server: every lookup then asks that server alone, /etc/hosts
// included (host addresses go through hostdns).
//
// miekg/dns rather than Go's resolver: DANE needs the DO bit in the query
// and the AD bit of the answer, which net.Resolver neither sends nor shows.
package maildns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// Client asks Server (--dns-server with its port), or else the nameservers
// of ResolvConf.
type Client struct {
	Server     string
	ResolvConf string // "" is /etc/resolv.conf
}

// Answer is one DNS answer and who gave it.
type Answer struct {
	Msg    *dns.Msg
	Server string
}

// ErrTimeout marks a query that the deadline ended.
var ErrTimeout = errors.New("no answer before the deadline")

// Servers are the servers to ask: --dns-server, else those of resolv.conf.
func (c Client) Servers() ([]string, error) {
	if c.Server != "" {
		return []string{c.Server}, nil
	}
	conf := c.ResolvConf
	if conf == "" {
		conf = "/etc/resolv.conf"
	}
	cc, err := dns.ClientConfigFromFile(conf)
	if err != nil {
		return nil, fmt.Errorf("no resolver: %v (give --dns-server)", err)
	}
	var out []string
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no nameserver in %s (give --dns-server)", conf)
	}
	return out, nil
}

// Resolver looks up host addresses: nil (the system's), or one asking
// --dns-server alone, without /etc/hosts.
func (c Client) Resolver() probe.HostResolver {
	if c.Server == "" {
		return nil
	}
	return &hostdns.Resolver{Servers: []string{c.Server}}
}

// ResolverName says who Resolver asks, for messages.
func (c Client) ResolverName() string {
	if c.Server == "" {
		return "the system resolver"
	}
	return c.Server
}

// MaxAnswer is the UDP answer size this side offers (EDNS0); a larger
// answer comes truncated and is asked again over TCP, whose messages DNS
// itself bounds at 64 KiB.
const MaxAnswer = 4096

// Query asks name/qtype with recursion and the DO bit (so that a validating
// resolver sets AD), over UDP and again over TCP when truncated. Servers
// are tried in order until one answers; ctx's deadline bounds each try.
func (c Client) Query(ctx context.Context, name string, qtype uint16) (Answer, error) {
	servers, err := c.Servers()
	if err != nil {
		return Answer{}, err
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	m.AuthenticatedData = true // RFC 6840 §5.7: ask for AD explicitly
	m.SetEdns0(MaxAnswer, true)
	var lastErr error
	for _, server := range servers {
		for _, proto := range []string{"udp", "tcp"} {
			dc := &dns.Client{Net: proto}
			if dl, ok := ctx.Deadline(); ok {
				dc.Timeout = time.Until(dl)
			}
			r, _, err := dc.ExchangeContext(ctx, m, server)
			// The client's own timeout is the deadline too; it may fire a
			// moment before ctx reports it.
			var ne net.Error
			if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
				return Answer{Server: server}, ErrTimeout
			}
			if err != nil {
				lastErr = fmt.Errorf("%s: %v", server, err)
				break
			}
			if r.Truncated && proto == "udp" {
				continue
			}
			// An answer to another question (a spoof, or a broken server) or
			// one cut short even over TCP is no answer: judged, it would
			// pass a record this name never had, or miss one it has.
			if err := answers(r, m.Question[0]); err != nil {
				lastErr = fmt.Errorf("%s: %v", server, err)
				break
			}
			return Answer{Msg: r, Server: server}, nil
		}
	}
	return Answer{}, lastErr
}

// answers checks that r answers q in full.
func answers(r *dns.Msg, q dns.Question) error {
	if len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, q.Name) || r.Question[0].Qtype != q.Qtype {
		got := "no question"
		if len(r.Question) > 0 {
			got = strings.TrimSuffix(r.Question[0].Name, ".") + " " + dns.TypeToString[r.Question[0].Qtype]
		}
		return fmt.Errorf("answered %s instead of %s %s: a broken or spoofing server", got, strings.TrimSuffix(q.Name, "."), dns.TypeToString[q.Qtype])
	}
	if r.Truncated {
		return errors.New("the answer came truncated even over TCP")
	}
	return nil
}
