package plugin_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

func answers(context.Context, *opts) *plugin.Result {
	r := &plugin.Result{Service: "TEST"}
	r.Add(plugin.OK, "fine")
	return r
}

// An ini file that is not a regular file of at most 1 MiB, named by
// --extra-opts or by $MP_CONFIG_FILE, is a usage error at once.
func TestExtraOptsHostileFiles(t *testing.T) {
	for _, h := range plugintest.HostileFiles(t, "--extra-opts", "1 MiB") {
		o := run(t, answers, "-t", "5", "--extra-opts=@"+h.Path)
		o.Expect(t, 3, "TEST UNKNOWN - --extra-opts: "+h.Why+" (see check_test --help)")
		if o.Elapsed > time.Second {
			t.Errorf("%s: took %v", h.Name, o.Elapsed)
		}

		t.Setenv("MP_CONFIG_FILE", h.Path)
		o = run(t, answers, "-t", "5", "--extra-opts")
		why := strings.Replace(h.Why, h.Path+": ", h.Path+" (from $MP_CONFIG_FILE): ", 1)
		o.Expect(t, 3, "TEST UNKNOWN - --extra-opts: "+why+" (see check_test --help)")
		if o.Elapsed > time.Second {
			t.Errorf("%s: took %v", h.Name, o.Elapsed)
		}
	}
}
