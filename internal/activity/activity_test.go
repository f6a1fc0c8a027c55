package activity

import (
	"context"
	"testing"
)

// Overlapping activities: the latest still running is reported, and an
// ended one never comes back.
func TestOverlap(t *testing.T) {
	ctx, tr := NewContext(context.Background())
	endRead := StartFile(ctx, "reading the system CA bundle")
	endBanner := Start(ctx, "in the banner phase")
	if got, file := tr.Current(); got != "in the banner phase" || file {
		t.Errorf("got %q, file %v", got, file)
	}
	endBanner()
	if got, file := tr.Current(); got != "reading the system CA bundle" || !file {
		t.Errorf("after the banner ended: %q, file %v", got, file)
	}
	endRead()
	if got, _ := tr.Current(); got != "" {
		t.Errorf("after both ended: %q", got)
	}
}

// Two runs side by side see only their own activities; a context without
// a Tracker records nothing.
func TestPerRun(t *testing.T) {
	a, ta := NewContext(context.Background())
	b, tb := NewContext(context.Background())
	defer Start(a, "in the banner phase of a")()
	defer Start(context.Background(), "nowhere")()
	if got, _ := tb.Current(); got != "" {
		t.Errorf("run b sees %q", got)
	}
	defer Start(b, "in the EHLO phase of b")()
	if got, _ := ta.Current(); got != "in the banner phase of a" {
		t.Errorf("run a sees %q", got)
	}
}
