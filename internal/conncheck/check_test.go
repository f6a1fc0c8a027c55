package conncheck

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestMXPanic: a panic in one MX address's check is that address's UNKNOWN,
// naming the job; the other addresses are still checked and listed, and the
// plugin prints its verdict instead of dying with a stack trace.
func TestMXPanic(t *testing.T) {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); quitOK(c) })
	dnsAddr := dnstest.Start(t, false,
		"pan.test. 60 IN MX 10 mx1.pan.test.",
		"pan.test. 60 IN MX 20 mx2.pan.test.",
		"mx1.pan.test. 60 IN A 127.0.0.1",
		"mx2.pan.test. 60 IN A 127.0.0.1",
	)
	panicking := func(ctx context.Context, o *Options) *plugin.Result {
		return o.Judge(o.gather(ctx, func(tg MXTarget) fanout.Job[*Facts] {
			j := o.mxJob(tg)
			if tg.Host == "mx2.pan.test" {
				j.Run = func(context.Context) *Facts { panic("boom") }
			}
			return j
		}), time.Now())
	}
	p := strconv.Itoa(srv.Port)
	o := plugintest.Run(t, Name, Service, &Options{}, panicking, "--mx", "pan.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	failure := "internal error in the check of 127.0.0.1:" + p + ": boom (a bug: please report it with the command line)"
	o.Expect(t, 3, "SMTP UNKNOWN - 1 of 2 MX addresses of pan.test failed; mx2.pan.test: "+failure)
	o.Contains(t, "[OK] MX 10 mx1.pan.test (127.0.0.1:"+p+"): mx1.pan.test (127.0.0.1:"+p+") answered in",
		"[UNKNOWN] MX 20 mx2.pan.test (127.0.0.1:"+p+"): "+failure, "'mx_ok'=1;;;0;2")
}
