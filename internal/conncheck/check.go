package conncheck

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// Check runs check_smtp_conn with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result { return o.check(ctx, o.mxJob) }

// check is Check with the builder of the --mx mode's jobs, which tests wrap
// to make one fail.
func (o *Options) check(ctx context.Context, mxJob func(mxTarget) fanout.Job[*plugin.Result]) *plugin.Result {
	r := &plugin.Result{Service: Service}
	res := o.resolver()
	if o.MX != "" {
		o.checkMX(ctx, res, r, mxJob)
		return r
	}
	f := o.run(ctx, o.target(o.Host, netip.Addr{}, res))
	o.judge(f, r, time.Now())
	return r
}

// resolver honours --dns-server; the pure-Go resolver is used so that no
// query goes anywhere else.
func (o *Options) resolver() *net.Resolver {
	if o.DNSServer == "" {
		return net.DefaultResolver
	}
	server, _ := probe.DNSServerAddr(o.DNSServer) // validated
	return probe.NewResolver(server)
}

// mxTarget is one address of one MX host.
type mxTarget struct {
	host string
	pref uint16
	addr netip.Addr
	err  error // resolving the host failed
}

// maxParallel bounds concurrent sessions in --mx mode.
const maxParallel = 4

// checkMX checks every address of every MX host of the domain, in parallel
// under the one deadline; the worst state wins and each target is listed.
func (o *Options) checkMX(ctx context.Context, res *net.Resolver, r *plugin.Result, mxJob func(mxTarget) fanout.Job[*plugin.Result]) {
	start := time.Now()
	targets, err := o.mxTargets(ctx, res)
	if err != nil {
		r.Add(o.dnsState(ctx), "dns: %v", err)
		return
	}
	results := make([]*plugin.Result, len(targets))
	var jobs []fanout.Job[*plugin.Result]
	var dialled []int // the index in targets of each job
	for i, t := range targets {
		if t.err != nil { // nothing to dial, so no slot to take
			results[i] = &plugin.Result{Service: Service}
			results[i].Add(o.dnsState(ctx), "dns: %v", t.err)
			continue
		}
		jobs = append(jobs, mxJob(t))
		dialled = append(dialled, i)
	}
	for j, jr := range fanout.Run(ctx, maxParallel, jobs) {
		sub := jr.Value
		if jr.Err != nil {
			sub = &plugin.Result{Service: Service, Findings: []plugin.Finding{plugin.JobFailure(jr.Err, o.Timeout, "MX addresses")}}
		}
		results[dialled[j]] = sub
	}
	failed := 0
	for _, sub := range results {
		if sub.State() != plugin.OK {
			failed++
		}
	}
	if failed > 0 { // first, so that the status line leads with the count
		r.Add(worstOf(results), "%d of %d MX addresses of %s failed", failed, len(targets), o.MX)
	}
	var worst time.Duration
	for i, sub := range results {
		t := targets[i]
		name := fmt.Sprintf("%s (%s)", t.host, netip.AddrPortFrom(t.addr, uint16(o.Port)))
		if !t.addr.IsValid() {
			name = t.host
		}
		st := sub.State()
		if st != plugin.OK {
			r.Add(st, "%s: %s", t.host, sub.Summary())
		}
		r.Detail("[%s] MX %d %s: %s", st, t.pref, name, sub.Summary())
		for _, p := range sub.Perf {
			if p.Label == "total" {
				worst = max(worst, time.Duration(p.Value*float64(time.Second)))
				p.Label = "total_" + cmp.Or(t.addr.String(), t.host)
				r.AddPerf(p)
			}
		}
	}
	if failed == 0 {
		r.Add(plugin.OK, "all %d MX addresses of %s answered in %.3f s", len(targets), o.MX, time.Since(start).Seconds())
	}
	n := float64(len(targets))
	r.AddPerf(plugin.Perf{Label: "mx_ok", Value: n - float64(failed), Min: plugin.Zero, Max: &n},
		plugin.Seconds("time", worst, threshold.Pair{Warn: o.Warning, Crit: o.Critical}))
}

func worstOf(rs []*plugin.Result) plugin.State {
	st := plugin.OK
	for _, r := range rs {
		st = plugin.Worst(st, r.State())
	}
	return st
}

// mxJob runs and judges one MX address.
func (o *Options) mxJob(t mxTarget) fanout.Job[*plugin.Result] {
	addr := netip.AddrPortFrom(t.addr, uint16(o.Port))
	return fanout.Job[*plugin.Result]{Name: "the check of " + addr.String(), Run: func(ctx context.Context) *plugin.Result {
		r := &plugin.Result{Service: Service}
		o.judge(o.run(ctx, o.target(t.host, t.addr, nil)), r, time.Now())
		return r
	}}
}

// dnsState is the state of a failed lookup: -t's when the deadline cut it
// short, else CRITICAL.
func (o *Options) dnsState(ctx context.Context) plugin.State {
	if expired(ctx) {
		return o.Timeout.State
	}
	return plugin.Critical
}

// expired reports whether ctx's deadline has passed. Reads and lookups bound
// by the same instant may end (and free a slot) before ctx.Err() says so.
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// mxTargets resolves the MX hosts and their addresses. A domain without MX
// falls back to its own address (RFC 5321 §5.1); a null MX (RFC 7505) says
// the domain takes no mail, which is an error here.
func (o *Options) mxTargets(ctx context.Context, res *net.Resolver) ([]mxTarget, error) {
	domain := strings.TrimSuffix(o.MX, ".")
	mxs, err := res.LookupMX(ctx, domain)
	var dnsErr *net.DNSError
	if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
		return nil, fmt.Errorf("MX lookup for %s failed: %s", domain, o.dnsErrText(err))
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, fmt.Errorf("%s publishes a null MX (RFC 7505): it accepts no mail", domain)
	}
	if len(mxs) == 0 {
		mxs = []*net.MX{{Host: domain, Pref: 0}}
	}
	slices.SortStableFunc(mxs, func(a, b *net.MX) int { return cmp.Compare(a.Pref, b.Pref) })
	network := o.target("", netip.Addr{}, nil).Network
	var out []mxTarget
	for _, mx := range mxs {
		host := strings.TrimSuffix(mx.Host, ".")
		addrs, err := res.LookupNetIP(ctx, network, host)
		if err != nil || len(addrs) == 0 {
			out = append(out, mxTarget{host: host, pref: mx.Pref, err: fmt.Errorf("no %s address for %s: %s", probe.FamilyName(network), host, o.dnsErrText(err))})
			continue
		}
		for _, a := range addrs {
			out = append(out, mxTarget{host: host, pref: mx.Pref, addr: a.Unmap()})
		}
	}
	return out, nil
}

// dnsErrText names the server that really answered: with --dns-server the
// resolver's own message would name the one from resolv.conf.
func (o *Options) dnsErrText(err error) string {
	var de *net.DNSError
	switch {
	case err == nil:
		return "empty answer"
	case errors.As(err, &de) && o.DNSServer != "":
		server, _ := probe.DNSServerAddr(o.DNSServer)
		return de.Err + " (asked " + server + ")"
	case errors.As(err, &de):
		return de.Err
	}
	return err.Error()
}
