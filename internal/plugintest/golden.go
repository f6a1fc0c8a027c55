package plugintest

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var (
	perfValueRe = regexp.MustCompile(`=\d+(\.\d+)?s;`)
	jsonValueRe = regexp.MustCompile(`"value":[0-9.e-]+`)
)

// MaskValues replaces perfdata and JSON values in seconds by N, and
// measured times in the text by T: what changes from run to run.
func MaskValues(s string) string {
	s = perfValueRe.ReplaceAllString(s, "=Ns;")
	s = jsonValueRe.ReplaceAllString(s, `"value":N`)
	return MaskTimes(s)
}

// Golden compares got with testdata/NAME.golden; `go test -run TestGolden
// -update` rewrites the file from got instead.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	file := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}
