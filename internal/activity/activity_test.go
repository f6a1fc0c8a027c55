package activity

import "testing"

// Overlapping activities: the latest still running is reported, and an
// ended one never comes back.
func TestOverlap(t *testing.T) {
	endRead := Start("reading the system CA bundle")
	endBanner := Start("in the banner phase")
	endRead()
	if got := Current(); got != "in the banner phase" {
		t.Errorf("got %q", got)
	}
	endBanner()
	if got := Current(); got != "" {
		t.Errorf("after both ended: %q", got)
	}
}
