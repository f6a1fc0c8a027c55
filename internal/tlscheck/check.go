package tlscheck

import (
	"context"
	"crypto/tls"
	"errors"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// facts is everything the run showed; judge turns it into findings.
type facts struct {
	S     *probe.Session
	Err   *probe.Error // what ended the main session before TLS was up
	Scan  []tlsaudit.ScanResult
	DANE  *daneFacts // with --dane
	STS   *stsFacts  // with --mta-sts
	Total time.Duration

	Failed []error // jobs that gave no facts: a panic, or the deadline before they began
}

// job is work beside the main session: a handshake of the version scan, the
// DANE or the MTA-STS lookup. It returns how to record what it found, which
// check applies once all are in, so that no two goroutines touch the facts.
type job = fanout.Job[func(*facts)]

// Check runs check_smtp_tls with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result { return o.check(ctx, o.jobs) }

// check is Check with the builder of the jobs, which tests wrap to make one
// fail.
func (o *Options) check(ctx context.Context, jobs func() []job) *plugin.Result {
	r := &plugin.Result{Service: Service}
	start := time.Now()
	// The jobs run beside the main session, under the same deadline; they
	// are a handful, so all at once.
	wait := fanout.Start(ctx, 0, jobs())
	if o.Roots() == nil {
		// Read while the network is waited for, under the run's context,
		// which names the read should it hang; judge and the MTA-STS
		// fetch take the roots from there.
		probe.PreloadRoots(ctx)
	}
	f := &facts{}
	f.S, f.Err = o.session(ctx, o.target(), smtp.NewTranscript())
	for _, jr := range wait() {
		if jr.Err != nil {
			f.Failed = append(f.Failed, jr.Err)
			continue
		}
		jr.Value(f)
	}
	f.Total = time.Since(start)
	o.judge(f, r, time.Now())
	o.judgeFailed(f, r)
	return r
}

// judgeFailed adds the findings of the jobs that failed, judged beside the
// rest: the status line names one when it decides the state, the long
// output otherwise.
func (o *Options) judgeFailed(f *facts, r *plugin.Result) {
	fs := make([]plugin.Finding, len(f.Failed))
	for i, err := range f.Failed {
		fs[i] = plugin.JobFailure(err, o.Timeout, "jobs")
	}
	r.Findings = append(r.Findings, fs...)
	for _, fi := range fs {
		if fi.State != r.State() {
			r.Detail("[%s] %s", fi.State, fi.Text)
		}
	}
}

// jobs lists the work the options ask for beside the main session.
func (o *Options) jobs() []job {
	var jobs []job
	if o.ScanVersions {
		for _, v := range tlsaudit.Versions {
			jobs = append(jobs, job{Name: "the " + tlsaudit.VersionName(v) + " handshake of the version scan", Run: func(ctx context.Context) func(*facts) {
				sr := o.scan(ctx, v)
				return func(f *facts) { f.Scan = append(f.Scan, sr) }
			}})
		}
	}
	if o.DANE {
		jobs = append(jobs, job{Name: "the DANE (TLSA) lookup", Run: func(ctx context.Context) func(*facts) {
			d := o.lookupTLSA(ctx)
			return func(f *facts) { f.DANE = d }
		}})
	}
	if o.MTASTS != "" {
		jobs = append(jobs, job{Name: "the MTA-STS lookup", Run: func(ctx context.Context) func(*facts) {
			sts := o.lookupSTS(ctx)
			return func(f *facts) { f.STS = sts }
		}})
	}
	return jobs
}

// session connects, upgrades to TLS the way the target says and leaves
// politely. The TLS facts are in the returned session.
func (o *Options) session(ctx context.Context, t probe.Target, tr *smtp.Transcript) (*probe.Session, *probe.Error) {
	s, err := probe.Dial(ctx, t, tr)
	if err != nil {
		return s, probe.AsError(err)
	}
	defer s.Close()
	if t.TLS == probe.TLSStartTLS {
		if err := s.Helo(ctx); err != nil {
			return s, probe.AsError(err)
		}
		if err := s.StartTLS(ctx); err != nil {
			e := probe.AsError(err)
			if e.Kind == probe.KindReply && e.Phase != probe.PhaseEHLOTLS {
				_, _ = s.Quit(ctx, false)
			}
			if e.Phase == probe.PhaseEHLOTLS {
				return s, nil // TLS is up; what follows is not this check's business
			}
			return s, e
		}
	}
	_, _ = s.Quit(ctx, false)
	return s, nil
}

// allSuites is every suite crypto/tls implements, insecure ones included:
// the scan asks "does the server speak this version at all", and the main
// session keeps Go's safe defaults.
var allSuites = func() []uint16 {
	var ids []uint16
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		ids = append(ids, s.ID)
	}
	return ids
}()

// scan tries one TLS version alone.
func (o *Options) scan(ctx context.Context, v uint16) tlsaudit.ScanResult {
	t := o.target()
	t.MinVersion, t.MaxVersion = v, v
	t.CipherSuites = allSuites
	s, e := o.session(ctx, t, smtp.NewTranscript())
	res := tlsaudit.ScanResult{Version: v}
	switch {
	case e == nil && s.TLS != nil:
		res.Accepted, res.Cipher = true, s.TLS.CipherSuite
	case e == nil:
		res.Err, res.Inconclusive = errors.New("no TLS session"), true
	default:
		res.Err = e
		// A refusal is an alert or a dropped handshake; anything
		// else (timeout, refused connection, 4xx) says nothing.
		inTLS := e.Phase == probe.PhaseTLS || e.Phase == probe.PhaseStartTLS
		res.Inconclusive = !inTLS || !(e.Kind == probe.KindTLS || e.Kind == probe.KindClosed || e.Kind == probe.KindReset)
	}
	return res
}
