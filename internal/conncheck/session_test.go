package conncheck

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestDataOpenedSendsNothingMore: after a -C answered with 354 the server
// reads a message; RSET or QUIT would be its text, so the session hangs up.
func TestDataOpenedSendsNothingMore(t *testing.T) {
	var after atomic.Value // what the client sent after DATA
	after.Store("")
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Greet()
		_ = c.EHLO("PIPELINING")
		for _, reply := range []string{"250 2.1.0 ok", "250 2.1.5 ok"} {
			if _, err := c.ReadLine(); err == nil {
				_ = c.Send(reply)
			}
		}
		if _, err := c.Expect("DATA"); err != nil || c.Send("354 go ahead") != nil {
			return
		}
		if line, err := c.ReadLine(); err == nil {
			after.Store(line)
		}
	})
	o := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2", "-f", "mon@fault.test", "--rcpt", "user@fault.test", "-C", "DATA", "-C", "NOOP")
	o.Expect(t, 1, `SMTP WARNING - command "DATA": "354 go ahead" opened a message body; check_smtp_conn does not send mail, so it hung up: drop this -C`)
	o.Within(t, 2*time.Second)
	srv.Close() // waits for the script
	if got := after.Load().(string); got != "" {
		t.Errorf("the client sent %q after DATA", got)
	}
}

// TestPasswordNoteOnlyFromArgv: the note about -P on the command line is
// for a password there, not one read from an --extra-opts file.
func TestPasswordNoteOnlyFromArgv(t *testing.T) {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { _ = c.Greet(); _ = c.EHLO("PIPELINING"); quitOK(c) })
	ini := filepath.Join(t.TempDir(), "plugins.ini")
	if err := os.WriteFile(ini, []byte("[check_smtp_conn]\nauthpass = "+testPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const note = "note: -P puts the password on the command line"
	base := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2", "-A", "PLAIN", "-U", testUser, "--allow-plaintext"}
	o := check(t, append(base, "--extra-opts=@"+ini)...)
	if o.Code != 2 || strings.Contains(o.Out, note) {
		t.Errorf("password from the ini file: exit %d, output\n%s", o.Code, o.Out)
	}
	o = check(t, append(base, "-P", testPass)...)
	o.Contains(t, note)
}

// TestMXNotTried: with more MX addresses than slots, those that waited for
// a slot until the deadline were never dialled, and say so; a per-host
// lookup cut short by -t has -t's state.
func TestMXNotTried(t *testing.T) {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { c.Hang() })
	records := []string{"slow.test. 60 IN MX 10 hang.slow.test.", "hang.slow.test SLOW"}
	for i := 1; i <= maxParallel+1; i++ {
		records = append(records, "many.test. 60 IN MX 10 mx"+strconv.Itoa(i)+".many.test.",
			"mx"+strconv.Itoa(i)+".many.test. 60 IN A 127.0.0.1")
	}
	dnsAddr := dnstest.Start(t, false, records...)
	p := strconv.Itoa(srv.Port)

	o := check(t, "--mx", "many.test", "--dns-server", dnsAddr, "-p", p, "-t", "1", "-4")
	// Hosts are looked up and checked four at a time: the fifth waited.
	notTried := "not tried: the -t deadline passed while 4 other MX hosts were being checked"
	var banner, tried int
	for _, l := range strings.Split(o.Out, "\n") {
		l, _, _ = strings.Cut(l, " | ") // the last line carries the perfdata
		if _, what, ok := strings.Cut(l, ".many.test (127.0.0.1:"+p+"): "); ok && strings.HasPrefix(l, "[CRITICAL] MX 10 mx") {
			banner += bool2int(strings.HasPrefix(what, "banner: no answer within the 1 s timeout"))
		}
		if _, what, ok := strings.Cut(l, ".many.test: "); ok && strings.HasPrefix(l, "[CRITICAL] MX 10 mx") {
			tried += bool2int(what == notTried)
		}
	}
	if o.Code != 2 || !strings.HasPrefix(o.Status(), "SMTP CRITICAL - 5 of 5 MX addresses of many.test failed; ") || banner != 4 || tried != 1 {
		t.Errorf("exit %d, %d timed out in the banner, %d not tried; output\n%s", o.Code, banner, tried, o.Out)
	}
	o.Within(t, time.Second)

	asked := time.Now()
	o = check(t, "--mx", "slow.test", "--dns-server", dnsAddr, "-p", p, "-t", "1:WARNING", "-4")
	// The resolver's own lookup outlives the check until the answer comes.
	defer time.Sleep(time.Until(asked.Add(dnstest.SlowDelay + 200*time.Millisecond)))
	if o.Code != 1 || !strings.HasPrefix(o.Status(), "SMTP WARNING - 1 of 1 MX addresses of slow.test failed; hang.slow.test: dns: no IPv4 address for hang.slow.test: ") {
		t.Errorf("exit %d, output\n%s", o.Code, o.Out)
	}
	o.Within(t, time.Second)
}

func bool2int(b bool) int {
	if b {
		return 1
	}
	return 0
}
