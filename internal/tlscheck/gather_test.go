package tlscheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// gather parses and validates args and gathers the facts of one run.
func gather(t *testing.T, args ...string) (*Options, *Facts) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	o := &Options{}
	if _, _, err := plugin.Parse(ctx, Name, args, o); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(ctx); err != nil {
		t.Fatal(err)
	}
	return o, Gather(ctx, o)
}

func findings(r *plugin.Result) []string {
	var texts []string
	for _, f := range r.Findings {
		texts = append(texts, f.State.String()+" "+f.Text)
	}
	return texts
}

// TestJudgeIsPure: Gather reads the system roots the chain is judged
// against; Judge reads no file (a $SSL_CERT_FILE gone since changes
// nothing) and no clock (the same facts judged 89 days later find the
// certificate about to expire).
func TestJudgeIsPure(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, leafOpts(nil)), smtptest.Config{}, nil)
	t.Setenv("SSL_CERT_FILE", l.caFile)
	o, f := gather(t, "-H", "127.0.0.1", "-p", l.port, "-t", "5")
	if f.RootsErr != nil || f.Roots.Pool == nil || f.Roots.Label != "the system roots" {
		t.Fatalf("roots %+v, error %v", f.Roots, f.RootsErr)
	}
	t.Setenv("SSL_CERT_FILE", filepath.Join(t.TempDir(), "gone.pem"))

	now := time.Now()
	r := o.Judge(f, now)
	want := "OK " + f.S.String() + ": TLSv1.3 via STARTTLS, chain verified for 127.0.0.1; earliest expiry: certificate \"localhost\" expires in 90 days (" + day(leafNotAfter) + ")"
	if got := findings(r); r.State() != plugin.OK || len(got) != 1 || got[0] != want {
		t.Errorf("judged now: %s %q, want %q", r.State(), got, want)
	}
	r = o.Judge(f, now.Add(89*24*time.Hour))
	want = "CRITICAL certificate \"localhost\" expires in 1 day (" + day(leafNotAfter) + ")"
	if got := findings(r); r.State() != plugin.Critical || len(got) == 0 || got[0] != want {
		t.Errorf("judged 89 days later: %s %q, want %q first", r.State(), got, want)
	}
}

// TestEHLOTLSFailure: a server that refuses the EHLO inside TLS has still
// shown its TLS, which is what is judged; the refusal gets a QUIT.
func TestEHLOTLSFailure(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	cert := root.MustIssue(t, leafOpts(nil))
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Greet()
		_ = c.EHLO("STARTTLS")
		if _, err := c.Expect("STARTTLS"); err != nil {
			return
		}
		_ = c.Send("220 2.0.0 go ahead")
		if c.StartTLS(&tls.Config{Certificates: []tls.Certificate{cert}}) != nil {
			return
		}
		if _, err := c.Expect("EHLO"); err == nil {
			_ = c.Send("554 5.7.1 not you")
		}
		_, _ = c.Expect("QUIT")
	})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := root.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	o := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "5", "--ca-file", caFile, "-v")
	o.Expect(t, 0, "SMTP TLS OK - "+srv.Addr+": TLSv1.3 via STARTTLS, chain verified for 127.0.0.1; earliest expiry: certificate \"localhost\" expires in 90 days ("+day(leafNotAfter)+")")
	o.Contains(t, "S: 554 5.7.1 not you\nC: QUIT |")
}

// TestTotalPerf: check_smtp_tls gives every plugin's "total" and "time",
// the whole run, which holds the handshake.
func TestTotalPerf(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, leafOpts(nil)), smtptest.Config{}, nil)
	o, f := gather(t, l.args()...)
	perf := map[string]float64{}
	var labels []string
	for _, p := range o.Judge(f, time.Now()).Perf {
		perf[p.Label] = p.Value
		labels = append(labels, p.Label)
	}
	if perf["total"] != f.Total.Seconds() || perf["time"] != perf["total"] || perf["total"] < perf["handshake"] || perf["handshake"] <= 0 {
		t.Errorf("perfdata %v, total %v", perf, f.Total)
	}
	want := "[dns connect banner ehlo starttls ehlo_tls quit total time handshake cert_days chain_min_days]"
	if got := fmt.Sprint(labels); got != want {
		t.Errorf("labels %s, want %s", got, want)
	}
}
