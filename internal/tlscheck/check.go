package tlscheck

import (
	"context"
	"crypto/tls"
	"errors"
	"sync"
	"time"

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
}

// Check runs check_smtp_tls with validated options.
func Check(ctx context.Context, o *Options) *plugin.Result {
	r := &plugin.Result{Service: Service}
	start := time.Now()
	f := &facts{}
	var wg sync.WaitGroup
	if o.ScanVersions {
		// The scan's handshakes run beside the main session, under the same deadline.
		wg.Go(func() { f.Scan = o.scan(ctx) })
	}
	if !o.haveCAFile {
		// Read while the network is waited for, under the run's context,
		// which names the read should it hang; judge and the MTA-STS
		// fetch take the roots from there.
		probe.PreloadRoots(ctx)
	}
	// DNS and the MTA-STS policy, too, run beside the session.
	if o.DANE {
		wg.Go(func() { f.DANE = o.lookupTLSA(ctx) })
	}
	if o.MTASTS != "" {
		wg.Go(func() { f.STS = o.lookupSTS(ctx) })
	}
	f.S, f.Err = o.session(ctx, o.target(), smtp.NewTranscript())
	wg.Wait()
	f.Total = time.Since(start)
	o.judge(f, r, time.Now())
	return r
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

// scan tries each TLS version alone, in parallel.
func (o *Options) scan(ctx context.Context) []tlsaudit.ScanResult {
	out := make([]tlsaudit.ScanResult, len(tlsaudit.Versions))
	var wg sync.WaitGroup
	for i, v := range tlsaudit.Versions {
		wg.Go(func() {
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
			out[i] = res
		})
	}
	wg.Wait()
	return out
}
