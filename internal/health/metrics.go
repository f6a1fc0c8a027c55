package health

import (
	"bytes"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// /metrics writes Prometheus' text exposition format by hand: a handful
// of gauges needs no client library, and client_golang would add about
// 2.9 MB and six modules to the binary (measured: a minimal promhttp
// server is 8.6 MB stripped, the same without it 5.8 MB).

// metric families, in the order written.
var families = []struct{ name, typ, help string }{
	{"smtpcheck_health_state", "gauge", "State of the check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."},
	{"smtpcheck_health_up", "gauge", "1 when the check's HTTP status is 200, else 0."},
	{"smtpcheck_health_checked_timestamp_seconds", "gauge", "When the result served was checked (Unix time)."},
	{"smtpcheck_health_probe_duration_seconds", "gauge", "How long the probe behind the result took."},
	{"smtpcheck_health_probes_total", "counter", "Probes started since the daemon started or the profile changed."},
	{"smtpcheck_health_perfdata", "gauge", "The check's perfdata, one series per label (unit as a label)."},
}

func (s *server) serveMetrics(w http.ResponseWriter, r *http.Request, c *config) {
	outs := s.gatherAll(r.Context(), c)
	if r.Context().Err() != nil {
		return
	}
	var b bytes.Buffer
	for fi, f := range families {
		b.WriteString("# HELP " + f.name + " " + f.help + "\n# TYPE " + f.name + " " + f.typ + "\n")
		for i, ch := range c.checks {
			o := outs[i]
			labels := `check="` + escapeLabel(ch.name) + `",plugin="` + ch.plugin + `"`
			switch fi {
			case 0:
				sample(&b, f.name, labels, float64(o.state))
			case 1:
				sample(&b, f.name, labels, float64(boolInt(c.status(o.state) == http.StatusOK)))
			case 2:
				sample(&b, f.name, labels, float64(o.checkedAt.UnixMilli())/1000)
			case 3:
				sample(&b, f.name, labels, o.duration.Seconds())
			case 4:
				ch.mu.Lock()
				n := ch.probes
				ch.mu.Unlock()
				sample(&b, f.name, labels, float64(n))
			case 5:
				for _, m := range o.result.Perf {
					sample(&b, f.name, labels+`,label="`+escapeLabel(m.Label)+`",unit="`+escapeLabel(m.Unit)+`"`, m.Value)
				}
			}
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func sample(b *bytes.Buffer, name, labels string, v float64) {
	b.WriteString(name + "{" + labels + "} " + formatSample(v) + "\n")
}

// formatSample writes a value as the text format wants it.
func formatSample(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// escapeLabel escapes a label value: backslash, double quote, line feed.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
