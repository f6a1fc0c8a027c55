package tlscheck

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

const tooMany = "421 4.7.0 mx.test Error: too many connections from 127.0.0.1"

// busyProxy stands before a real server and answers tooMany to every
// connection beyond max open at once, as Postfix's
// smtpd_client_connection_count_limit does. peak is the most ever open.
// Like a real server, it sees a connection closed a moment after the
// client has closed it: one handshake after the other may overlap by one.
func busyProxy(t *testing.T, backend string, max int32) (port string, peak *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int32
	peak = &atomic.Int32{}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				n := open.Add(1)
				var once sync.Once
				closed := func() { once.Do(func() { open.Add(-1) }) }
				defer closed()
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				if n > max {
					_, _ = io.WriteString(c, tooMany+"\r\n")
					return
				}
				b, err := net.Dial("tcp", backend)
				if err != nil {
					return
				}
				defer b.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(b, c); closed(); b.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, b); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			})
		}
	})
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), peak
}

// TestScanOneAtATime: the scan's handshakes run one at a time beside the
// main session, so a server taking three connections at once from a client
// (two, and one it has yet to see closed) serves them all; the four
// handshakes at once beside the main session used to be answered with 421.
func TestScanOneAtATime(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, leafOpts(nil)), smtptest.Config{}, &tls.Config{MinVersion: tls.VersionTLS12})
	var peak *atomic.Int32
	l.port, peak = busyProxy(t, l.srv.Addr, 3)
	o := check(t, l.args("--scan-versions")...)
	o.Expect(t, 0, "SMTP TLS OK - 127.0.0.1:"+l.port+": TLSv1.3 via STARTTLS, chain verified for 127.0.0.1; earliest expiry: certificate \"localhost\" expires in 90 days ("+day(leafNotAfter)+")")
	o.Contains(t, "scan: accepted: TLSv1.2, TLSv1.3; refused: TLSv1.0, TLSv1.1 |")
	if p := peak.Load(); p > 3 {
		t.Errorf("%d connections at once, want at most 3", p)
	}
}

// TestScanTurnedAway: scan handshakes the server answers with 421 say
// nothing about their versions: WARNING naming them and the reply once,
// the main session's version accepted, nothing called refused.
func TestScanTurnedAway(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, leafOpts(nil)), smtptest.Config{}, &tls.Config{MinVersion: tls.VersionTLS12})
	busy := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { _ = c.Send(tooMany) })
	cases := []struct {
		name    string
		timeout string
		scan    func(context.Context, *Options, uint16) func(*Facts)
		code    int
		status  string
		details []string
	}{
		{"421 to every scan handshake", "5", func(ctx context.Context, o *Options, v uint16) func(*Facts) {
			away := *o
			away.Port = busy.Port // the scan's connections reach a server saying 421
			sr := away.scan(ctx, v)
			return func(f *Facts) { f.Scan = append(f.Scan, sr) }
		}, 1, `SMTP TLS WARNING - scan: TLSv1.0, TLSv1.1, TLSv1.2 could not be tried: banner: "` + tooMany + `" - the server turned the scan's connection away, not the version; ` +
			"the scan opens one connection at a time beside the main session: does the server limit connections per client?",
			[]string{"scan: TLSv1.0 could not be tried\n", "scan: TLSv1.3 accepted by the main session (TLS_AES_128_GCM_SHA256)\n",
				"scan: accepted: TLSv1.3; refused: none; could not be tried: TLSv1.0, TLSv1.1, TLSv1.2 |"}},
		{"the deadline before their turn", "1:UNKNOWN", func(ctx context.Context, o *Options, v uint16) func(*Facts) {
			if v == tls.VersionTLS10 {
				<-ctx.Done() // holds the one slot until -t
			}
			return func(f *Facts) {
				f.Scan = append(f.Scan, tlsaudit.ScanResult{Version: v, Inconclusive: true, Err: errNotStarted})
			}
		}, 3, "SMTP TLS UNKNOWN - scan: TLSv1.0, TLSv1.1, TLSv1.2 could not be tried: the -t deadline passed before their turn (the scan's handshakes run one at a time): raise -t",
			[]string{"scan: accepted: TLSv1.3; refused: none; could not be tried: TLSv1.0, TLSv1.1, TLSv1.2 |"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run := func(ctx context.Context, o *Options) *plugin.Result {
				jobs := o.jobs()
				for i := range jobs {
					if v := jobs[i].scans; v != 0 {
						jobs[i].Run = func(ctx context.Context) func(*Facts) { return tc.scan(ctx, o, v) }
					}
				}
				return o.Judge(o.gather(ctx, jobs), time.Now())
			}
			args := append(l.args("--scan-versions"), "-t", tc.timeout)
			o := plugintest.Run(t, Name, Service, &Options{}, run, args...)
			o.Expect(t, tc.code, tc.status)
			o.Contains(t, tc.details...)
			if n := strings.Count(o.Out, tooMany); n > 1 {
				t.Errorf("the reply %d times, want once:\n%s", n, o.Out)
			}
		})
	}
}
