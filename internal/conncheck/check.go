package conncheck

import (
	"cmp"
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
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
	res := o.resolver()
	if o.MX != "" {
		return &Facts{MX: o.gatherMX(ctx, res, mxJob)}
	}
	return o.gatherOne(ctx, o.target(o.Host, netip.Addr{}, res))
}

// resolver honours --dns-server; the pure-Go resolver is used so that no
// query goes anywhere else.
func (o *Options) resolver() *net.Resolver {
	if o.DNSServer == "" {
		return net.DefaultResolver
	}
	return probe.NewResolver(o.dnsServer())
}

// MX is what the --mx mode saw: the lookup and a session with each address.
type MX struct {
	Domain    string
	LookupErr error // the MX lookup failed (not NXDOMAIN, not "no records")
	NXDomain  bool  // the domain does not exist
	NullMX    bool  // the domain publishes a null MX (RFC 7505): it takes no mail
	Implicit  bool  // no MX records: the domain's own address is the MX (RFC 5321 §5.1)
	TimedOut  bool  // the deadline cut LookupErr's lookup short
	Targets   []MXTarget
	Elapsed   time.Duration // from the lookup to the last session's end
}

// MXTarget is one address of one MX host, or a host whose address lookup
// failed (Addr invalid).
type MXTarget struct {
	Host     string
	Pref     uint16
	Addr     netip.Addr
	DNSErr   error  // the address lookup failed (nil with Addr invalid: an empty answer)
	TimedOut bool   // the deadline cut DNSErr's lookup short
	JobErr   error  // the session was not run, or panicked (fanout's errors)
	Facts    *Facts // the session, when there was one
}

// maxParallel bounds concurrent sessions in --mx mode.
const maxParallel = 4

// gatherMX looks up the MX hosts and their addresses, and checks every
// address in parallel under the one deadline.
func (o *Options) gatherMX(ctx context.Context, res *net.Resolver, mxJob func(MXTarget) fanout.Job[*Facts]) *MX {
	start := time.Now()
	m := o.mxTargets(ctx, res)
	var jobs []fanout.Job[*Facts]
	var dialled []int // the index in m.Targets of each job
	for i, t := range m.Targets {
		if t.Addr.IsValid() { // else nothing to dial, so no slot to take
			jobs = append(jobs, mxJob(t))
			dialled = append(dialled, i)
		}
	}
	for j, jr := range fanout.Run(ctx, maxParallel, jobs) {
		t := &m.Targets[dialled[j]]
		t.Facts, t.JobErr = jr.Value, jr.Err
	}
	m.Elapsed = time.Since(start)
	return m
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

// mxTargets resolves the MX hosts and their addresses. A domain without MX
// records falls back to its own address (RFC 5321 §5.1); one that does not
// exist, or publishes a null MX (RFC 7505), has no target.
func (o *Options) mxTargets(ctx context.Context, res *net.Resolver) *MX {
	m := &MX{Domain: strings.TrimSuffix(o.MX, ".")}
	mxs, rcode, err := lookupMX(ctx, res, m.Domain)
	switch {
	case rcode == rcodeNXDomain && isNotFound(err):
		m.NXDomain = true
		return m
	case err != nil && !isNotFound(err):
		m.LookupErr, m.TimedOut = err, expired(ctx)
		return m
	case len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == ""):
		m.NullMX = true
		return m
	case len(mxs) == 0:
		m.Implicit = true
		mxs = []*net.MX{{Host: m.Domain, Pref: 0}}
	}
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	network := o.target("", netip.Addr{}, nil).Network
	for _, mx := range mxs {
		host := strings.TrimSuffix(mx.Host, ".")
		addrs, err := res.LookupNetIP(ctx, network, host)
		if err != nil || len(addrs) == 0 {
			m.Targets = append(m.Targets, MXTarget{Host: host, Pref: mx.Pref, DNSErr: err, TimedOut: expired(ctx)})
			continue
		}
		for _, a := range addrs {
			m.Targets = append(m.Targets, MXTarget{Host: host, Pref: mx.Pref, Addr: a.Unmap()})
		}
	}
	return m
}
