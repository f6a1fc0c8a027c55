package plugintest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// ExpectRedacted asserts the runs of a check whose server echoed the
// credentials back, with -v (text) and with --output json -v (js): the
// JSON summary and only finding are status, its transcript holds the line
// transcript, and neither output contains any form in forbidden.
func ExpectRedacted(t testing.TB, text, js Outcome, status, transcript string, forbidden []string) {
	t.Helper()
	var got struct {
		Summary    string
		Findings   []struct{ Text string }
		Transcript []string
	}
	if err := json.Unmarshal([]byte(js.Out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js.Out)
	}
	if got.Summary != status || len(got.Findings) != 1 || got.Findings[0].Text != status || !slices.Contains(got.Transcript, transcript) {
		t.Errorf("JSON: %+v\nwant summary and finding %q, transcript line %q", got, status, transcript)
	}
	for _, o := range []Outcome{text, js} {
		for _, f := range forbidden {
			if strings.Contains(o.Out, f) {
				t.Errorf("output contains the secret form %q:\n%s", f, o.Out)
			}
		}
	}
}
