package tlscheck

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// normalise masks what changes from run to run: times, ports, dates, the
// CA file's path and TLSA data.
func normalise(out, port, caFile string) string {
	out = strings.ReplaceAll(out, ":"+port, ":PORT")
	out = strings.ReplaceAll(out, "_"+port+"._tcp", "_PORT._tcp")
	out = strings.ReplaceAll(out, caFile, "CAFILE")
	out = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`).ReplaceAllString(out, "DATE")
	out = regexp.MustCompile(`127\.0\.0\.1:\d+\)`).ReplaceAllString(out, "127.0.0.1:DNSPORT)")
	out = regexp.MustCompile(`(TLSA \d \d \d )[0-9a-f]{16}\.\.\.`).ReplaceAllString(out, "${1}DATA...")
	return plugintest.MaskValues(out)
}

// TestGolden compares whole outputs (long output and perfdata included)
// with testdata/*.golden; go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	now := time.Now()
	root := smtptest.MustNewCA(t, "Golden Root")
	inter := mustCA(root.NewIntermediate("Golden Intermediate", time.Time{}, now.Add(20*24*time.Hour+time.Hour)))
	cert := inter.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{daneHost}, NotAfter: now.Add(90*24*time.Hour + time.Hour)})
	leaf := mustParse(t, cert.Certificate[0])
	for _, name := range []string{"dane-ee-verbose", "dane-ee-json"} {
		t.Run(name, func(t *testing.T) {
			l := serve(t, root, cert, smtptest.Config{}, nil)
			dnsAddr := dnstest.Start(t, true, tlsaRR("_"+l.port+"._tcp."+daneHost, 3, 1, 1, leaf), daneHost+". 60 IN A 127.0.0.1")
			args := []string{"-H", daneHost, "-p", l.port, "-4", "-t", "5", "-F", "golden.test", "--ca-file", l.caFile, "--dane", "--dns-server", dnsAddr, "-v"}
			if strings.HasSuffix(name, "json") {
				args = append(args, "--output", "json")
			}
			out := check(t, args...).Out
			got := normalise(out, l.port, l.caFile)
			plugintest.Golden(t, name, got)
		})
	}
}

// TestJSON checks the JSON object's shape: state, exit code, findings,
// details and perfdata as numbers.
func TestJSON(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, leafOpts(nil)), smtptest.Config{}, nil)
	o := check(t, l.args("--output", "json", "-w", "100")...)
	var res struct {
		State    string `json:"state"`
		ExitCode int    `json:"exit_code"`
		Summary  string `json:"summary"`
		Findings []struct {
			State string `json:"state"`
			Text  string `json:"text"`
		} `json:"findings"`
		Details  []string `json:"details"`
		Perfdata []struct {
			Label string   `json:"label"`
			Value float64  `json:"value"`
			Unit  string   `json:"unit"`
			Warn  string   `json:"warn"`
			Min   *float64 `json:"min"`
		} `json:"perfdata"`
	}
	if err := json.Unmarshal([]byte(o.Out), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, o.Out)
	}
	if o.Code != 1 || res.State != "WARNING" || res.ExitCode != 1 || !strings.HasPrefix(res.Summary, `certificate "localhost" expires in 90 days`) {
		t.Errorf("exit %d: %+v", o.Code, res)
	}
	perf := map[string]float64{}
	for _, p := range res.Perfdata {
		perf[p.Label] = p.Value
		if p.Label == "cert_days" && p.Warn != "100:" {
			t.Errorf("cert_days warn %q", p.Warn)
		}
		if p.Label == "handshake" && (p.Unit != "s" || p.Min == nil) {
			t.Errorf("handshake perf %+v", p)
		}
	}
	if perf["cert_days"] != 90 || perf["chain_min_days"] != 90 {
		t.Errorf("perfdata %v", perf)
	}
	found := false
	for _, d := range res.Details {
		found = found || strings.HasPrefix(d, `[0] certificate "localhost" issued by "Test Root"`)
	}
	if !found {
		t.Errorf("details lack the chain: %q", res.Details)
	}
}
