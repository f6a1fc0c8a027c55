package conncheck

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// judgeMX judges each MX address as a run of its own; the worst state wins
// and each address is listed.
func (o *Options) judgeMX(m *MX, r *plugin.Result, now time.Time) {
	r.AddPerf(mxTimes(m)...) // measured even where the lookup failed
	switch {
	case m.NXDomain:
		asked := ""
		if server := o.dnsServer(); server != "" {
			asked = ", asked " + server
		}
		r.Add(plugin.Critical, "dns: %s does not exist (NXDOMAIN%s) - check the domain given to --mx", m.Domain, asked)
		return
	case m.LookupErr != nil:
		r.Add(o.dnsState(m.TimedOut), "dns: MX lookup for %s failed: %s%s", m.Domain, o.dnsErrText(m.LookupErr), dnsAdvice(m.LookupErr, m.TimedOut))
		return
	case m.NullMX:
		r.Add(plugin.Critical, "dns: %s publishes a null MX (RFC 7505): it accepts no mail", m.Domain)
		return
	}
	of := o.MX
	if m.Implicit {
		of += " (no MX records: implicit MX, its own address)"
	}
	results := make([]*plugin.Result, len(m.Targets))
	failed := 0
	for i, t := range m.Targets {
		results[i] = o.judgeTarget(t, now)
		if results[i].State() != plugin.OK {
			failed++
		}
	}
	if failed > 0 { // first, so that the status line leads with the count
		r.Add(worstOf(results), "%d of %d MX addresses of %s failed", failed, len(m.Targets), of)
	}
	var worst time.Duration
	var items []plugin.Perf
	for i, sub := range results {
		t := m.Targets[i]
		name := fmt.Sprintf("%s (%s)", t.Host, netip.AddrPortFrom(t.Addr, uint16(o.Port)))
		if !t.Addr.IsValid() {
			name = t.Host
		}
		st := sub.State()
		if st != plugin.OK {
			r.Add(st, "%s: %s", t.Host, sub.Summary())
		}
		mx := fmt.Sprintf("MX %d", t.Pref)
		if m.Implicit {
			mx = "implicit MX (RFC 5321 §5.1)"
		}
		r.Detail("[%s] %s %s: %s", st, mx, name, sub.Summary())
		for _, p := range sub.Perf {
			if p.Label == "total" {
				worst = max(worst, time.Duration(p.Value*float64(time.Second)))
				p.Label, p.Item = "total_"+cmp.Or(t.Addr.String(), t.Host), true
				items = append(items, p)
			}
		}
	}
	if failed == 0 {
		r.Add(plugin.OK, "all %d MX addresses of %s answered in %s s", len(m.Targets), of, plugin.Elapsed(m.Elapsed))
	}
	n := float64(len(m.Targets))
	r.AddPerf(plugin.Perf{Label: "mx_ok", Value: n - float64(failed), Min: plugin.Zero, Max: &n},
		plugin.Seconds("time", worst, threshold.Pair{Warn: o.Warning, Crit: o.Critical}))
	r.AddPerf(items...) // last, as they are the first left out of a long output
}

// mxTimes are the whole run's time and its DNS time: the MX lookup and
// the slowest address lookup, which ran side by side.
func mxTimes(m *MX) []plugin.Perf {
	var slowest time.Duration
	for _, t := range m.Targets {
		slowest = max(slowest, t.LookupTime)
	}
	return []plugin.Perf{plugin.Seconds("total", m.Elapsed, threshold.Pair{}), plugin.Seconds("dns", m.LookupTime+slowest, threshold.Pair{})}
}

// judgeTarget judges one MX address: its lookup, its job, its session.
func (o *Options) judgeTarget(t MXTarget, now time.Time) *plugin.Result {
	switch {
	case t.JobErr != nil:
		others := "MX addresses"
		if !t.Addr.IsValid() { // the host's lookup was the job
			others = "MX hosts"
		}
		return &plugin.Result{Service: Service, Findings: []plugin.Finding{plugin.JobFailure(t.JobErr, o.Timeout, others)}}
	case !t.Addr.IsValid():
		r := &plugin.Result{Service: Service}
		r.Add(o.dnsState(t.TimedOut), "dns: no %s address for %s: %s%s", probe.FamilyName(o.Network()), t.Host, o.dnsErrText(t.DNSErr), dnsAdvice(t.DNSErr, t.TimedOut))
		return r
	}
	return o.Judge(t.Facts, now)
}

func worstOf(rs []*plugin.Result) plugin.State {
	st := plugin.OK
	for _, r := range rs {
		st = plugin.Worst(st, r.State())
	}
	return st
}

// dnsState is the state of a failed lookup: -t's when the deadline cut it
// short, else CRITICAL.
func (o *Options) dnsState(timedOut bool) plugin.State {
	if timedOut {
		return o.Timeout.State
	}
	return plugin.Critical
}

// dnsErrText names the server that really answered: with --dns-server the
// resolver's own message would name the one from resolv.conf.
func (o *Options) dnsErrText(err error) string {
	var de *net.DNSError
	switch {
	case err == nil:
		return "empty answer"
	case errors.As(err, &de) && de.IsTimeout && o.DNSServer != "":
		return fmt.Sprintf("no answer within the %s s timeout (asked %s)", plugin.Secs(o.Timeout.Duration), o.dnsServer())
	case errors.As(err, &de) && de.IsTimeout:
		return fmt.Sprintf("no answer within the %s s timeout", plugin.Secs(o.Timeout.Duration))
	case errors.As(err, &de) && o.DNSServer != "":
		return de.Err + " (asked " + o.dnsServer() + ")"
	case errors.As(err, &de):
		return de.Err
	}
	return err.Error()
}

// dnsAdvice says what to do about a failed lookup that the server answered
// with a failure code; nothing for a timeout, which its state says.
func dnsAdvice(err error, timedOut bool) string {
	var de *net.DNSError
	if timedOut || !errors.As(err, &de) || de.IsTimeout || de.IsNotFound {
		return "" // not found: the message says so, and the MX record is what to fix
	}
	return " - " + hostdns.Advice(err)
}

// dnsServer is the address --dns-server names, "" without it.
func (o *Options) dnsServer() string {
	server, _ := probe.DNSServerAddr(o.DNSServer) // validated
	return server
}
