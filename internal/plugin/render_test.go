package plugin

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/atc0005/go-nagios"
)

// render renders r as the plugins do and returns the output.
func render(t *testing.T, r *Result) string {
	t.Helper()
	out, _ := renderWith(r, &Common{Output: "text"})
	return out
}

// renderWith renders r with the common options c, as the plugins do, and
// returns the output and the exit code.
func renderWith(r *Result, c *Common) (string, int) {
	var buf bytes.Buffer
	p := nagios.NewPlugin()
	p.SetOutputTarget(&buf)
	p.SkipOSExit()
	func() {
		defer p.ReturnCheckResults()
		Render(p, r, c)
	}()
	return buf.String(), p.ExitStatusCode
}

// TestPerfBudget: per-item metrics that would take the output past
// MaxOutput are left out, the first kept, the rest counted in the long
// output; the other metrics are always kept, and the perfdata is whole.
func TestPerfBudget(t *testing.T) {
	r := &Result{Service: "SMTP"}
	r.Add(Critical, "many failed")
	for i := range 300 {
		r.AddPerf(Perf{Label: fmt.Sprintf("total_10.0.%d.%d", i/250, i%250), Value: 0.123456, Unit: "s", Min: Zero, Item: true})
	}
	r.AddPerf(Perf{Label: "mx_ok", Value: 0, Min: Zero}, Perf{Label: "total", Value: 1.5, Unit: "s", Min: Zero})
	r.Detail("one line of detail")
	out := render(t, r)
	if len(out) > MaxOutput {
		t.Errorf("%d bytes, more than %d", len(out), MaxOutput)
	}
	text, perf, _ := strings.Cut(out, " | ")
	metrics := strings.Fields(perf)
	kept := len(metrics) - 3 // mx_ok, time (added), total
	for _, want := range []string{"'mx_ok'=0;;;0;", "'total'=1.5s;;;0;", "'time'="} {
		if !strings.Contains(perf, want) {
			t.Errorf("perfdata lacks %q", want)
		}
	}
	for i := range kept { // the first, in order
		if want := fmt.Sprintf("'total_10.0.%d.%d'=0.123456s;;;0;", i/250, i%250); !strings.Contains(perf, want) {
			t.Errorf("perfdata lacks %q", want)
		}
	}
	want := fmt.Sprintf("SMTP CRITICAL - many failed\none line of detail\n(%d more perfdata values left out to keep the output under 8192 bytes)", 300-kept)
	if kept <= 0 || kept >= 300 || text != want {
		t.Errorf("%d per-item metrics kept; text\n%q\nwant\n%q", kept, text, want)
	}

	// What fits is all kept, and nothing said.
	r.Perf = r.Perf[290:]
	out = render(t, r)
	if text, perf, _ := strings.Cut(out, " | "); text != "SMTP CRITICAL - many failed\none line of detail" || len(strings.Fields(perf)) != 13 {
		t.Errorf("output\n%s", out)
	}
}

// TestLongOutputShowsEveryFinding: findings below the result's state are
// listed with their state in the long output, before the details, so that
// a WARNING qualifying a CRITICAL verdict is not lost to the text reader.
func TestLongOutputShowsEveryFinding(t *testing.T) {
	r := &Result{Service: "SMTP TLS"}
	r.Add(Critical, "no TLSA record matches")
	r.Add(Warning, "the TLSA answer lacks the AD bit")
	r.Add(OK, "mx.test: TLSv1.3 via STARTTLS")
	r.Detail("tls: details")
	out := render(t, r)
	want := "SMTP TLS CRITICAL - no TLSA record matches\n[WARNING] the TLSA answer lacks the AD bit\n[OK] mx.test: TLSv1.3 via STARTTLS\ntls: details | 'time'="
	if !strings.HasPrefix(out, want) {
		t.Errorf("got\n%s\nwant it to begin\n%s", out, want)
	}
}
