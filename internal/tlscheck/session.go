package tlscheck

import (
	"context"
	"errors"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Facts is everything one run showed, as data: the main session (its
// timings, replies, TLS state and transcript; Total is the whole run, jobs
// included), the version scan, the DANE and MTA-STS lookups, and the roots
// the chain is judged against.
type Facts struct {
	probe.Outcome

	Scan []tlsaudit.ScanResult // with --scan-versions
	DANE *DANEFacts            // with --dane
	STS  *STSFacts             // with --mta-sts

	// Roots are what the main session's chain is judged against, read once
	// TLS was up; RootsErr says why they could not be read.
	Roots    tlsaudit.Roots
	RootsErr error

	Failed []error // jobs that gave no facts: a panic, or the deadline before they began
}

// job is work beside the main session: a handshake of the version scan, the
// DANE or the MTA-STS lookup. It returns how to record what it found, which
// Gather applies once all are in, so that no two goroutines touch the facts.
type job struct {
	fanout.Job[func(*Facts)]
	// scans is the version a handshake of the scan tries, 0 for a lookup.
	// Handshakes run one at a time: a server that limits connections per
	// client (Postfix's smtpd_client_connection_count_limit) would answer
	// a burst with 421, and the scan would report our own burst as the
	// server's fault. One beside the main session is what any client may
	// open.
	scans uint16
}

// Check runs check_smtp_tls with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	return o.Judge(Gather(ctx, o), time.Now())
}

// Gather does all the network and file work of one run: the main session,
// the jobs the options ask for beside it, and the roots its chain is judged
// against.
func Gather(ctx context.Context, o *Options) *Facts { return o.gather(ctx, o.jobs()) }

// gather is Gather with the jobs given, which tests change to make one fail.
func (o *Options) gather(ctx context.Context, jobs []job) *Facts {
	start := time.Now()
	// The jobs run beside the main session, under the same deadline: the
	// lookups all at once, the handshakes one at a time.
	var scans []uint16
	var conns, lookups []fanout.Job[func(*Facts)]
	for _, j := range jobs {
		if j.scans != 0 {
			scans = append(scans, j.scans)
			conns = append(conns, j.Job)
		} else {
			lookups = append(lookups, j.Job)
		}
	}
	waitConns, waitLookups := fanout.Start(ctx, 1, conns), fanout.Start(ctx, 0, lookups)
	if o.Roots() == nil {
		// Read while the network is waited for, under the run's context,
		// which names the read should it hang; the roots below and the
		// MTA-STS fetch take them from there.
		probe.PreloadRoots(ctx)
	}
	f := &Facts{Outcome: o.session(ctx, o.target(), start)}
	if tlsFailure(f.Err) == nil && f.S.TLS != nil {
		f.Roots, f.RootsErr = o.AuditRoots(ctx, f.S.TLS.PeerCertificates)
	}
	results := waitConns()
	for i, jr := range results {
		// A version the deadline left untried is the scan's to report.
		var ns *fanout.NotStartedError
		if errors.As(jr.Err, &ns) {
			v := scans[i]
			results[i].Value, results[i].Err = func(f *Facts) {
				f.Scan = append(f.Scan, tlsaudit.ScanResult{Version: v, Err: errNotStarted, Inconclusive: true})
			}, nil
		}
	}
	for _, jr := range append(results, waitLookups()...) {
		if jr.Err != nil {
			f.Failed = append(f.Failed, jr.Err)
			continue
		}
		jr.Value(f)
	}
	f.Total = time.Since(start)
	return f
}

// jobs lists the work the options ask for beside the main session.
func (o *Options) jobs() []job {
	var jobs []job
	if o.ScanVersions {
		for _, v := range tlsaudit.Versions {
			jobs = append(jobs, job{scans: v, Job: fanout.Job[func(*Facts)]{Name: "the " + tlsaudit.VersionName(v) + " handshake of the version scan", Run: func(ctx context.Context) func(*Facts) {
				sr := o.scan(ctx, v)
				return func(f *Facts) { f.Scan = append(f.Scan, sr) }
			}}})
		}
	}
	if o.DANE {
		jobs = append(jobs, job{Job: fanout.Job[func(*Facts)]{Name: "the DANE (TLSA) lookup", Run: func(ctx context.Context) func(*Facts) {
			began := time.Now()
			d := o.lookupTLSA(ctx)
			d.Duration = time.Since(began)
			return func(f *Facts) { f.DANE = d }
		}}})
	}
	if o.MTASTS != "" {
		jobs = append(jobs, job{Job: fanout.Job[func(*Facts)]{Name: "the MTA-STS lookup", Run: func(ctx context.Context) func(*Facts) {
			sts := o.lookupSTS(ctx)
			return func(f *Facts) { f.STS = sts }
		}}})
	}
	return jobs
}

// session connects to t and upgrades to TLS (probe.HandshakeOnly).
func (o *Options) session(ctx context.Context, t probe.Target, start time.Time) probe.Outcome {
	return probe.HandshakeOnly(ctx, t, start)
}

// tlsFailure is probe.TLSFailure: only the handshake is judged.
func tlsFailure(e *probe.Error) *probe.Error { return probe.TLSFailure(e) }

// errNotStarted is a scan handshake the -t deadline kept from starting.
var errNotStarted = errors.New("not started: the -t deadline passed before its turn")

// scan tries one TLS version alone (probe.ScanVersion, shared with
// check_smtp_security).
func (o *Options) scan(ctx context.Context, v uint16) tlsaudit.ScanResult {
	return probe.ScanVersion(ctx, o.target(), v, nil)
}
