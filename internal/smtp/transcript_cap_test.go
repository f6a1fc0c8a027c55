package smtp

import "testing"

// TestTranscriptBounded: a transcript keeps MaxEntries lines and counts
// the rest, so that a long session holds bounded memory.
func TestTranscriptBounded(t *testing.T) {
	tr := NewTranscript()
	for range MaxEntries + 5 {
		tr.add("C", "NOOP")
	}
	lines := tr.Lines()
	if len(lines) != MaxEntries+1 || lines[MaxEntries-1] != "C: NOOP" || lines[MaxEntries] != "* 5 more lines not kept (a transcript keeps 10000)" {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}
