package conncheck

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// answering is a server that greets, answers EHLO and says goodbye.
func answering(t *testing.T) string {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); quitOK(c) })
	return strconv.Itoa(srv.Port)
}

// TestMXHostsNotFromHostsFile: an MX host's address comes from the DNS, as
// an MTA looks it up, never from /etc/hosts (which knows localhost): a
// name the DNS does not resolve is CRITICAL, not a false OK. The same for
// the implicit MX's address.
func TestMXHostsNotFromHostsFile(t *testing.T) {
	p := answering(t)
	dnsAddr := dnstest.Start(t, false,
		"hosts.test. 60 IN MX 10 localhost.",
		"localhost. 60 IN TXT \"known, but no address\"",
	)
	o := check(t, "--mx", "hosts.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 2, "SMTP CRITICAL - 1 of 1 MX addresses of hosts.test failed; localhost: dns: no IPv4 address for localhost: no A records (NODATA) (asked "+dnsAddr+")")

	o = check(t, "--mx", "localhost", "--dns-server", dnsAddr, "-p", p, "-t", "3")
	o.Expect(t, 2, "SMTP CRITICAL - 1 of 1 MX addresses of localhost (no MX records: implicit MX, its own address) failed; localhost: dns: no IP address for localhost: no A or AAAA records (NODATA) (asked "+dnsAddr+")")
}

// TestMXStallingLookup: the address lookups of the MX hosts run side by
// side, so one that stalls past -t does not keep the others from being
// checked; it gets -t's state.
func TestMXStallingLookup(t *testing.T) {
	p := answering(t)
	dnsAddr := dnstest.Start(t, false,
		"stall.test. 60 IN MX 10 hang.stall.test.",
		"stall.test. 60 IN MX 20 ok.stall.test.",
		"hang.stall.test SLOW",
		"ok.stall.test. 60 IN A 127.0.0.1",
	)
	asked := time.Now()
	o := check(t, "--mx", "stall.test", "--dns-server", dnsAddr, "-p", p, "-t", "1:WARNING", "-4")
	// The DNS server's slow answer outlives the check.
	defer time.Sleep(time.Until(asked.Add(dnstest.SlowDelay + 200*time.Millisecond)))
	o.Expect(t, 1, "SMTP WARNING - 1 of 2 MX addresses of stall.test failed; hang.stall.test: dns: no IPv4 address for hang.stall.test: no answer within the 1 s timeout (asked "+dnsAddr+")")
	o.Contains(t, "[OK] MX 20 ok.stall.test (127.0.0.1:"+p+"): ok.stall.test (127.0.0.1:"+p+") answered in")
	o.Within(t, time.Second)
}

// TestMXDuplicates: a host named by several MX records (in any case) and an
// address the answer repeats are checked once, at the best preference.
func TestMXDuplicates(t *testing.T) {
	p, sessions := countingPort(t)
	dnsAddr := dnstest.Start(t, false,
		"dup.test. 60 IN MX 20 MX.dup.test.",
		"dup.test. 60 IN MX 10 mx.dup.test.",
		"dup.test. 60 IN MX 30 mx.dup.test.",
		"mx.dup.test. 60 IN A 127.0.0.1",
		"mx.dup.test. 60 IN A 127.0.0.1",
	)
	o := check(t, "--mx", "dup.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 0, "SMTP OK - all 1 MX addresses of dup.test answered in T s")
	o.Contains(t, "[OK] MX 10 mx.dup.test (127.0.0.1:"+p+")")
	if n := sessions(); n != 1 {
		t.Errorf("%d sessions, want 1", n)
	}
}

// countingPort is an answering server that counts its sessions.
func countingPort(t *testing.T) (string, func() int) {
	srv, dialled, _ := countingServer(t, "tcp", "127.0.0.1:0")
	return strconv.Itoa(srv.Port), func() int { return int(dialled.Load()) }
}

// TestMXTimes: the Facts hold the MX lookup's and each host's address
// lookup's time; perfdata gives the whole run as total (DNS included), the
// slowest address as time, and the DNS time.
func TestMXTimes(t *testing.T) {
	p := answering(t)
	dnsAddr := dnstest.Start(t, false,
		"times.test. 60 IN MX 10 mx1.times.test.",
		"times.test. 60 IN MX 20 mx2.times.test.",
		"mx1.times.test. 60 IN A 127.0.0.1",
		"mx2.times.test. 60 IN A 127.0.0.2",
	)
	var facts *Facts
	gather := func(ctx context.Context, o *Options) *plugin.Result {
		facts = Gather(ctx, o)
		return o.Judge(facts, time.Now())
	}
	o := plugintest.Run(t, Name, Service, &Options{}, gather, "--mx", "times.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 2, "SMTP CRITICAL - 1 of 2 MX addresses of times.test failed; mx2.times.test: connect: connection refused (mx2.times.test (127.0.0.2:"+p+")) - is the MTA running and listening on this address and port?")
	m := facts.MX
	if m.LookupTime <= 0 || len(m.Targets) != 2 || m.Targets[0].LookupTime <= 0 || m.Targets[1].LookupTime <= 0 {
		t.Fatalf("lookup times missing from the facts: %+v", m)
	}
	dns := m.LookupTime + max(m.Targets[0].LookupTime, m.Targets[1].LookupTime)
	slowest := max(m.Targets[0].Facts.Total, m.Targets[1].Facts.Total)
	for _, want := range []string{
		"'total'=" + plugin.FormatValue(m.Elapsed.Seconds()) + "s;;;0;",
		"'dns'=" + plugin.FormatValue(dns.Seconds()) + "s;;;0;",
		"'time'=" + plugin.FormatValue(slowest.Seconds()) + "s;;;0;",
		"'mx_ok'=1;;;0;2", "'total_127.0.0.1'=", "'total_127.0.0.2'=",
	} {
		if !strings.Contains(o.Perf(), want) {
			t.Errorf("perfdata lacks %q: %s", want, o.Perf())
		}
	}

	// The MX lookup is timed when it is all there is.
	o = plugintest.Run(t, Name, Service, &Options{}, gather, "--mx", "missing.test", "--dns-server", dnsAddr, "-p", p, "-t", "3")
	if facts.MX.LookupTime <= 0 || !strings.Contains(o.Perf(), "'dns'=") || !strings.Contains(o.Perf(), "'total'=") {
		t.Errorf("NXDOMAIN: lookup time %v, perfdata %s", facts.MX.LookupTime, o.Perf())
	}
}

// TestMXOutputBudget: 30 MX hosts of 8 addresses each print at most 8 KB,
// and the perfdata, which comes last, is never cut: the per-address
// metrics that do not fit are left out, and counted. (30 MX records fit
// the test server's UDP answer, which it never truncates.)
func TestMXOutputBudget(t *testing.T) {
	p, _ := countingPort(t) // a free port on 127.0.0.1 only: the others refuse
	records := make([]string, 0, 30*9)
	for i := range 30 {
		host := fmt.Sprintf("mx%02d.big.test.", i)
		records = append(records, fmt.Sprintf("big.test. 60 IN MX %d %s", i, host))
		for j := range 8 {
			records = append(records, fmt.Sprintf("%s 60 IN A 127.0.%d.%d", host, 1+j, 1+i))
		}
	}
	dnsAddr := dnstest.Start(t, false, records...)
	o := check(t, "--mx", "big.test", "--dns-server", dnsAddr, "-p", p, "-t", "5", "-4")
	if len(o.Out) > plugin.MaxOutput {
		t.Errorf("%d bytes of output, more than %d", len(o.Out), plugin.MaxOutput)
	}
	if !strings.HasPrefix(o.Status(), "SMTP CRITICAL - 240 of 240 MX addresses of big.test failed; ") {
		t.Errorf("status %q", o.Status())
	}
	perf := strings.Fields(o.Perf())
	items := 0
	for _, m := range perf {
		if !regexp.MustCompile(`^'[a-z0-9_.]+'=[0-9.]+s?;;;0;[0-9]*$`).MatchString(m) {
			t.Errorf("metric %q is not whole", m)
		}
		items += strings.Count(m, "'total_")
	}
	for _, want := range []string{"'mx_ok'=0;;;0;240", "'time'=", "'total'=", "'dns'="} {
		if !slices.ContainsFunc(perf, func(m string) bool { return strings.HasPrefix(m, want) }) {
			t.Errorf("perfdata lacks %q: %s", want, o.Perf())
		}
	}
	// 238 findings left off the status line and 240 details: most are cut
	shown := strings.Count(o.Out, "\n[CRITICAL] ")
	note := fmt.Sprintf("port?\n(%d more lines cut to keep the output under 8192 bytes)\n(%d more perfdata values left out to keep the output under 8192 bytes) | ", 238+240-shown, 240-items)
	if items == 0 || items == 240 || !strings.Contains(o.Out, note) {
		t.Errorf("%d per-address metrics kept; want some, and the note %q in:\n%s", items, note, o.Out)
	}
}
