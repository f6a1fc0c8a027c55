package conncheck

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// Check runs check_smtp_conn with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	return o.Judge(Gather(ctx, o), time.Now())
}

// Gather does all the network and file work of one run: one session, or
// with --mx the lookup and a session with every address found.
func Gather(ctx context.Context, o *Options) *Facts { return o.gather(ctx, o.mxJob) }

// gather is Gather with the builder of the --mx mode's jobs, which tests
// wrap to make one fail.
func (o *Options) gather(ctx context.Context, mxJob func(MXTarget) fanout.Job[*Facts]) *Facts {
	if o.MX != "" {
		return &Facts{MX: o.gatherMX(ctx, o.resolver(), mxJob)}
	}
	var res probe.HostResolver // the system's: /etc/hosts, then DNS
	if o.DNSServer != "" {
		res = hostdns.New(ctx, o.dnsServer()) // what that server says, and only that
	}
	return o.gatherOne(ctx, o.target(o.Host, netip.Addr{}, res))
}

// resolver is the MX query's: the pure-Go resolver sending every query to
// --dns-server, or the system's. MX hosts' addresses are looked up by DNS
// alone (hostdns), either way.
func (o *Options) resolver() *net.Resolver {
	if o.DNSServer == "" {
		return net.DefaultResolver
	}
	return probe.NewResolver(o.dnsServer())
}

// MX is what the --mx mode saw: the lookup and a session with each address.
type MX struct {
	Domain     string
	LookupErr  error         // the MX lookup failed (not NXDOMAIN, not "no records")
	NXDomain   bool          // the domain does not exist
	NullMX     bool          // the domain publishes a null MX (RFC 7505): it takes no mail
	Implicit   bool          // no MX records: the domain's own address is the MX (RFC 5321 §5.1)
	TimedOut   bool          // the deadline cut LookupErr's lookup short
	LookupTime time.Duration // the MX query
	Targets    []MXTarget
	Elapsed    time.Duration // the whole run: from the MX lookup to the last session's end
}

// MXTarget is one address of one MX host, or a host without an address to
// dial (Addr invalid): its lookup failed or was never run.
type MXTarget struct {
	Host       string
	Pref       uint16
	Addr       netip.Addr
	LookupTime time.Duration // the host's address lookup, shared by its addresses
	DNSErr     error         // the address lookup failed (nil with Addr invalid: an empty answer)
	TimedOut   bool          // the deadline cut DNSErr's lookup short
	JobErr     error         // the lookup (Addr invalid) or the session was not run, or panicked (fanout's errors)
	Facts      *Facts        // the session, when there was one
}

// Bounds of the --mx mode's fan-out: hosts looked up and checked at once,
// and sessions at once with the addresses of one host. A host's lookup
// that stalls holds one host slot, not the others' sessions.
const (
	maxParallel = 4
	maxPerHost  = 2
)

// gatherMX looks up the MX hosts, then each host's addresses and checks
// them, hosts in parallel under the one deadline.
func (o *Options) gatherMX(ctx context.Context, res *net.Resolver, mxJob func(MXTarget) fanout.Job[*Facts]) *MX {
	start := time.Now()
	m, hosts := o.mxHosts(ctx, res)
	if len(hosts) > 0 {
		hr := hostdns.New(ctx, o.dnsServer())
		jobs := make([]fanout.Job[[]MXTarget], len(hosts))
		for i, h := range hosts {
			jobs[i] = fanout.Job[[]MXTarget]{Name: "the address lookup of " + h.Host, Run: func(ctx context.Context) []MXTarget {
				return o.checkHost(ctx, hr, h, mxJob)
			}}
		}
		for i, jr := range fanout.Run(ctx, maxParallel, jobs) {
			if jr.Err != nil {
				h := hosts[i]
				h.JobErr = jr.Err
				jr.Value = []MXTarget{h}
			}
			m.Targets = append(m.Targets, jr.Value...)
		}
	}
	m.Elapsed = time.Since(start)
	return m
}

// checkHost looks up h's addresses by DNS and checks each.
func (o *Options) checkHost(ctx context.Context, hr *hostdns.Resolver, h MXTarget, mxJob func(MXTarget) fanout.Job[*Facts]) []MXTarget {
	begin := time.Now()
	addrs, err := hr.LookupNetIP(ctx, o.Network(), h.Host)
	h.LookupTime = time.Since(begin)
	if len(addrs) == 0 {
		h.DNSErr, h.TimedOut = err, err != nil && expired(ctx)
		return []MXTarget{h}
	}
	targets := make([]MXTarget, 0, len(addrs))
	var jobs []fanout.Job[*Facts]
	seen := map[netip.Addr]bool{}
	for _, a := range addrs {
		if seen[a] {
			continue // an address the answer repeats is checked once
		}
		seen[a] = true
		t := h
		t.Addr = a
		targets = append(targets, t)
		jobs = append(jobs, mxJob(t))
	}
	for i, jr := range fanout.Run(ctx, maxPerHost, jobs) {
		targets[i].Facts, targets[i].JobErr = jr.Value, jr.Err
	}
	return targets
}

// mxJob runs one session with one MX address.
func (o *Options) mxJob(t MXTarget) fanout.Job[*Facts] {
	addr := netip.AddrPortFrom(t.Addr, uint16(o.Port))
	return fanout.Job[*Facts]{Name: "the check of " + addr.String(), Run: func(ctx context.Context) *Facts {
		return o.gatherOne(ctx, o.target(t.Host, t.Addr, nil))
	}}
}

// expired reports whether ctx's deadline has passed. Reads and lookups bound
// by the same instant may end (and free a slot) before ctx.Err() says so.
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// mxHosts looks up the MX hosts, by preference, each named once. A domain
// without MX records falls back to its own address (RFC 5321 §5.1); one
// that does not exist, or publishes a null MX (RFC 7505), has no host.
func (o *Options) mxHosts(ctx context.Context, res *net.Resolver) (*MX, []MXTarget) {
	m := &MX{Domain: strings.TrimSuffix(o.MX, ".")}
	begin := time.Now()
	mxs, rcode, err := lookupMX(ctx, res, m.Domain)
	m.LookupTime = time.Since(begin)
	switch {
	case rcode == rcodeNXDomain && isNotFound(err):
		m.NXDomain = true
		return m, nil
	case err != nil && !isNotFound(err):
		m.LookupErr, m.TimedOut = err, expired(ctx)
		if de, ok := errors.AsType[*net.DNSError](err); ok && rcode > 0 && !de.IsTimeout {
			m.LookupErr = hostdns.Failure(de.Name, de.Server, rcode) // named by its code, not Go's "server misbehaving"
		}
		return m, nil
	case len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == ""):
		m.NullMX = true
		return m, nil
	case len(mxs) == 0:
		m.Implicit = true
		mxs = []*net.MX{{Host: m.Domain, Pref: 0}}
	}
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	var hosts []MXTarget
	seen := map[string]bool{}
	for _, mx := range mxs {
		host := strings.TrimSuffix(mx.Host, ".")
		if key := strings.ToLower(host); !seen[key] { // a host several records name is checked once, at its best preference
			seen[key] = true
			hosts = append(hosts, MXTarget{Host: host, Pref: mx.Pref})
		}
	}
	return m, hosts
}
