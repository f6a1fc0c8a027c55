package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestEngineTimeoutNote: a -t above 55 s, which Nagios Core's and Icinga
// 2's own 60 s timeout may cut short without any output, is said in the
// first line of the long output (text and JSON); the state stays the
// check's own.
func TestEngineTimeoutNote(t *testing.T) {
	ok := func(context.Context, *opts) *plugin.Result {
		r := &plugin.Result{Service: "TEST"}
		r.Add(plugin.OK, "fine")
		r.Detail("detail")
		return r
	}
	const note = "note: -t 90 is above 55 s: Nagios Core (service_check_timeout) and Icinga 2 (check_timeout) kill a check after 60 s by default, with no output and no perfdata; keep -t below the engine's timeout, or raise that"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", "90"}, "TEST OK - fine\n" + note + "\ndetail"},
		{[]string{"-t", "90:WARNING"}, "TEST OK - fine\n" + note + "\ndetail"},
		{[]string{"-t", "55"}, "TEST OK - fine\ndetail"},
		{nil, "TEST OK - fine\ndetail"},
	} {
		o := plugintest.Run(t, "check_test", "TEST", &opts{}, ok, tc.args...)
		if text, _, _ := strings.Cut(o.Out, " | "); o.Code != 0 || text != tc.want { // perfdata after " | "
			t.Errorf("%v: exit %d:\n%s\nwant exit 0:\n%s", tc.args, o.Code, o.Out, tc.want)
		}
	}
	js := plugintest.Run(t, "check_test", "TEST", &opts{}, ok, "-t", "90", "--output", "json")
	if !strings.Contains(js.Out, `"details":["`+note+`","detail"]`) || js.Code != 0 {
		t.Errorf("exit %d: %s", js.Code, js.Out)
	}
}
