package loadcheck

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// sink is a scripted SMTP server: it answers every command at once, and
// each hook may change the answer for message n (counted by MAIL, across
// all connections). exts are the EHLO extensions (PIPELINING or not).
type sink struct {
	mails    atomic.Int32
	accepted atomic.Int32
	exts     []string
	// onMail, onRcpt and onEnd return the reply to send, "" for the
	// default, or "close" to drop the connection, "hang" to stall.
	onMail, onRcpt, onEnd func(c *smtptest.FaultConn, n int) string
	afterAccept           func(n int)
	greeting              string
	auth                  string // the reply to AUTH; "" is 502
}

func (k *sink) script(c *smtptest.FaultConn) {
	if k.greeting != "" {
		_ = c.Send(k.greeting)
		_, _ = c.ReadLine() // QUIT
		return
	}
	if c.Greet() != nil || c.EHLO(k.exts...) != nil {
		return
	}
	n, rcpts := -1, 0
	act := func(hook func(*smtptest.FaultConn, int) string, def string) bool {
		rep := ""
		if hook != nil {
			rep = hook(c, n)
		}
		switch rep {
		case "close":
			c.Close()
			return false
		case "hang":
			c.Hang()
			return false
		case "":
			rep = def
		}
		return c.Send(rep) == nil
	}
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		ok := true
		switch {
		case strings.HasPrefix(strings.ToUpper(line), "MAIL FROM"):
			n, rcpts = int(k.mails.Add(1))-1, 0
			ok = act(k.onMail, "250 2.1.0 ok")
		case strings.HasPrefix(strings.ToUpper(line), "RCPT TO"):
			rep := ""
			if k.onRcpt != nil {
				rep = k.onRcpt(c, n)
			}
			if rep == "" {
				rcpts++
				rep = "250 2.1.5 ok"
			}
			ok = c.Send(rep) == nil
		case verb == "DATA" && rcpts == 0:
			ok = c.Send("554 5.5.1 no valid recipients") == nil
		case verb == "DATA":
			if ok = c.Send("354 go ahead") == nil; !ok {
				break
			}
			for {
				l, err := c.ReadLine()
				if err != nil {
					return
				}
				if l == "." {
					break
				}
			}
			ok = act(k.onEnd, "250 2.0.0 queued")
			if ok && k.afterAccept != nil {
				k.accepted.Add(1)
				k.afterAccept(n)
			}
		case verb == "AUTH" && k.auth != "":
			ok = c.Send(k.auth) == nil
		case verb == "RSET":
			ok = c.Send("250 2.0.0 reset") == nil
		case verb == "QUIT":
			_ = c.Send("221 2.0.0 bye")
			return
		default:
			ok = c.Send("502 5.5.2 what") == nil
		}
		if !ok {
			return
		}
	}
}

// report is --output json's items, as the tests read them.
type report struct {
	State    string   `json:"state"`
	Summary  string   `json:"summary"`
	Details  []string `json:"details"`
	Items    Report   `json:"items"`
	Findings []struct{ State, Text string }
}

func (r *report) phase(t *testing.T, label string) PhaseStats {
	t.Helper()
	for _, p := range r.Items.Phases {
		if p.Phase == label {
			return p
		}
	}
	t.Fatalf("no %s histogram in %+v", label, r.Items.Phases)
	return PhaseStats{}
}

func run(t testing.TB, args ...string) plugintest.Outcome {
	t.Helper()
	var o Options
	return plugintest.Run(t, Name, Service, &o, Check, args...)
}

func runJSON(t *testing.T, addr string, args ...string) (*report, plugintest.Outcome) {
	t.Helper()
	out := run(t, append(append(plugintest.HostArgs(addr), "--output", "json", "--to", "sink@load.test"), args...)...)
	var r report
	if err := json.Unmarshal([]byte(out.Out), &r); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.Out)
	}
	return &r, out
}

func errorsOf(r *report) map[string]int {
	m := map[string]int{}
	for _, e := range r.Items.Errors {
		m[e.Class+" "+e.Key] = e.Count
	}
	return m
}

func expectErrors(t *testing.T, r *report, want map[string]int) {
	t.Helper()
	got := errorsOf(r)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("errors %v, want %v", got, want)
	}
}

// TestCountsAndClasses: accepted, rejected (RCPT 550, 451 after the
// message) and failed (a disconnect after MAIL) are counted exactly, by
// class and by phase and code, across concurrent sessions.
func TestCountsAndClasses(t *testing.T) {
	k := &sink{
		onRcpt: func(_ *smtptest.FaultConn, n int) string {
			if n%5 == 1 {
				return "550 5.1.1 no such user"
			}
			return ""
		},
		onEnd: func(_ *smtptest.FaultConn, n int) string {
			if n%5 == 2 {
				return "451 4.3.0 try later"
			}
			return ""
		},
		onMail: func(_ *smtptest.FaultConn, n int) string {
			if n%5 == 3 {
				return "close"
			}
			return ""
		},
	}
	srv, conns := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--messages", "20", "--sessions", "4")
	it := r.Items
	if it.Measured != 20 || it.Accepted != 8 || it.Rejected != 8 || it.Failed != 4 || it.Cut != 0 {
		t.Errorf("counts %+v, want 20 measured: 8 accepted, 8 rejected, 4 failed", it)
	}
	expectErrors(t, r, map[string]int{
		"5xx rcpt 550 5.1.1":                4,
		"4xx message 451 4.3.0":             4,
		"disconnect mail connection closed": 4,
	})
	if it.Classes["5xx"] != 4 || it.Classes["4xx"] != 4 || it.Classes["disconnect"] != 4 {
		t.Errorf("classes %v", it.Classes)
	}
	if got := conns.Load(); got != 20 {
		t.Errorf("%d connections, want 20 (one per message)", got)
	}
	// 12 of 20 rejected or failed: above the default --warning-errors 1.
	if out.Code != 1 || r.Summary != "error rate 60.0 % (12 of 20 messages rejected or failed); most often "+r.Items.Errors[0].Key+" (4 times)" {
		t.Errorf("exit %d, summary %q", out.Code, r.Summary)
	}
	// Failed attempts are in the figures: 20 totals, 20 MAIL timings.
	if n := r.phase(t, Total).Count; n != 20 {
		t.Errorf("total histogram has %d values, want 20", n)
	}
	if n := r.phase(t, "mail").Count; n != 20 {
		t.Errorf("mail histogram has %d values, want 20", n)
	}
	if n := r.phase(t, "message").Count; n != 12 {
		t.Errorf("message histogram has %d values, want 12 (8 accepted, 4 refused after the end)", n)
	}
}

// TestPipelinedAllAccepted: with PIPELINING the whole run is OK, the text
// status line says so, and --per-session reuses connections.
func TestPipelinedPerSession(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING", "8BITMIME"}}
	srv, conns := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	out := run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@load.test", "--to", "b@load.test", "--recipients", "2",
		"--messages", "20", "--per-session", "5")...)
	if out.Code != 0 || !strings.HasPrefix(out.Status(), "SMTP LOAD OK - 20 messages in ") || !strings.Contains(out.Status(), ", 20 accepted, 0 rejected, 0 failed; total p99 ") {
		t.Errorf("got exit %d:\n%s", out.Code, out.Out)
	}
	if got := conns.Load(); got != 4 {
		t.Errorf("%d connections, want 4 (20 messages, 5 per session)", got)
	}
	if got := k.mails.Load(); got != 20 {
		t.Errorf("%d MAIL FROM, want 20", got)
	}
	out.Contains(t, "recipients per message 2, per session 5; 20 measured (20 accepted, 0 rejected, 0 failed) in 4 sessions", "stopped: all 20 messages sent")
}

// TestWarmup: the warm-up is sent but left out of every figure.
func TestWarmup(t *testing.T) {
	k := &sink{}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, _ := runJSON(t, srv.Addr, "--messages", "5", "--warmup", "3")
	if got := k.mails.Load(); got != 8 {
		t.Errorf("%d MAIL FROM, want 8 (3 warm-up + 5)", got)
	}
	if r.Items.Measured != 5 || r.Items.Warmup != 3 || r.phase(t, "connect").Count != 5 || r.phase(t, Total).Count != 5 {
		t.Errorf("measured %d, warm-up %d, connect %d, total %d; want 5, 3, 5, 5", r.Items.Measured, r.Items.Warmup, r.phase(t, "connect").Count, r.phase(t, Total).Count)
	}
}

// TestConnectFailuresStop: a server that greets with 421 stops the run
// after --max-connect-failures sessions, CRITICAL.
func TestConnectFailuresStop(t *testing.T) {
	k := &sink{greeting: "421 4.3.2 too busy, come back later"}
	srv, conns := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	out := run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@load.test", "--max-connect-failures", "3")...)
	out.Expect(t, 2, "SMTP LOAD CRITICAL - stopped after 3 sessions in a row could not be set up: banner: \"421 4.3.2 too busy, come back later\" ("+srv.Addr+") - the server is closing the connection (overload, shutdown or rate limit): retry later, look at its log")
	if got := conns.Load(); got != 3 {
		t.Errorf("%d connections, want 3", got)
	}
	out.Contains(t, "error: banner 421 4.3.2 x3:", "errors by class: 4xx 3")
}

// TestStallShows: in the closed loop a stalled reply is a timeout of its
// phase, and its time is in the figures (not hidden by the loop).
func TestStallShows(t *testing.T) {
	k := &sink{onEnd: func(c *smtptest.FaultConn, n int) string {
		if n == 1 {
			return "hang"
		}
		return ""
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, _ := runJSON(t, srv.Addr, "--messages", "4", "--session-timeout", "0.4", "--warning-errors", "50")
	if r.Items.Accepted != 3 || r.Items.Failed != 1 {
		t.Errorf("counts %+v, want 3 accepted, 1 failed", r.Items)
	}
	expectErrors(t, r, map[string]int{"timeout message timeout": 1})
	if max := r.phase(t, Total).Max; max < 0.4 {
		t.Errorf("total max %g s: the stall of 0.4 s is hidden", max)
	}
	if max := r.phase(t, "message").Max; max < 0.35 {
		t.Errorf("message max %g s: the stall is not in its phase", max)
	}
	if r.State != "OK" {
		t.Errorf("state %s (%s), want OK: 25 %% errors within --warning-errors 50", r.State, r.Summary)
	}
}

// TestOpenLoopCorrection: one reply held 0.6 s in an open loop of 20/s on
// one session makes about 11 messages late that were never sent; the
// corrected histogram counts them, the plain one does not.
func TestOpenLoopCorrection(t *testing.T) {
	const hold = 600 * time.Millisecond
	k := &sink{onEnd: func(c *smtptest.FaultConn, n int) string {
		if n == 1 {
			_ = c.Pause(hold)
		}
		return ""
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, _ := runJSON(t, srv.Addr, "--messages", "6", "--rate", "20", "--sessions", "1")
	if r.Items.Mode != "open" || r.Items.Accepted != 6 {
		t.Fatalf("mode %s, %d accepted; want open, 6", r.Items.Mode, r.Items.Accepted)
	}
	plain, corr := r.phase(t, Total), r.phase(t, Corrected)
	if plain.Count != 6 {
		t.Errorf("total has %d values, want 6", plain.Count)
	}
	// RecordCorrectedValue(v, 50 ms) adds v-50ms, v-100ms, ... down to
	// 50 ms: at least 11 values for v >= 0.6 s.
	if corr.Count < 6+11 {
		t.Errorf("total_corrected has %d values, want at least 17", corr.Count)
	}
	var synthetic int64
	for _, b := range corr.Buckets {
		if b.From >= 50_000 && b.To < hold.Microseconds() {
			synthetic += b.Count
		}
	}
	if synthetic < 10 {
		t.Errorf("%d corrected values between 50 ms and 0.6 s, want the back-filled ones (>= 10): %+v", synthetic, corr.Buckets)
	}
	if corr.P90 <= plain.P90 {
		t.Errorf("corrected p90 %g s not above the plain p90 %g s", corr.P90, plain.P90)
	}
}

// TestSignalPartialReport: SIGTERM stops the run cleanly with the figures
// so far, UNKNOWN.
func TestSignalPartialReport(t *testing.T) {
	k := &sink{}
	k.afterAccept = func(n int) {
		if k.accepted.Load() == 5 {
			_ = syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		}
	}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--messages", "10000000", "--duration", "20", "-t", "30")
	if out.Code != 3 || r.Items.Stop != StopSignal || !strings.HasPrefix(r.Summary, "stopped by SIGTERM after ") || !strings.Contains(r.Summary, "s: partial figures of ") {
		t.Fatalf("exit %d, stop %q, summary %q", out.Code, r.Items.Stop, r.Summary)
	}
	if r.Items.Accepted < 5 || r.Items.Accepted > 1000 || r.Items.Failed != 0 {
		t.Errorf("%d accepted, %d failed: want the few sent before the signal, none failed", r.Items.Accepted, r.Items.Failed)
	}
	if out.Elapsed > 10*time.Second {
		t.Errorf("took %s after the signal", out.Elapsed)
	}
}

// TestSignalDuringStall: a signal while every session waits for a reply
// is the signal's UNKNOWN, not blamed on -t.
func TestSignalDuringStall(t *testing.T) {
	k := &sink{onEnd: func(c *smtptest.FaultConn, n int) string {
		_ = syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		return "hang"
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--duration", "20", "-t", "30")
	if out.Code != 3 || r.Items.Stop != StopSignal || len(r.Findings) != 1 || !strings.HasPrefix(r.Summary, "stopped by SIGTERM after ") {
		t.Errorf("exit %d, stop %q, findings %+v", out.Code, r.Items.Stop, r.Findings)
	}
}

// TestDefaultCaps: without --messages or --duration a run stops at 1000
// messages; --duration stops a longer one.
func TestDefaultCaps(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING"}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, _ := runJSON(t, srv.Addr, "--sessions", "4", "--per-session", "50")
	if r.Items.Measured != DefaultMessages || k.mails.Load() != DefaultMessages || r.Items.Stop != StopMessages {
		t.Errorf("measured %d, sent %d, stop %s; want %d, %d, messages", r.Items.Measured, k.mails.Load(), r.Items.Stop, DefaultMessages, DefaultMessages)
	}
	k2 := &sink{onEnd: func(c *smtptest.FaultConn, n int) string { _ = c.Pause(20 * time.Millisecond); return "" }}
	srv2, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k2.script)
	r, _ = runJSON(t, srv2.Addr, "--messages", "10000000", "--duration", "0.3")
	if r.Items.Stop != StopDuration || r.Items.Measured >= 100 || r.Items.Measured < 1 {
		t.Errorf("stop %s after %d messages; want duration, a few", r.Items.Stop, r.Items.Measured)
	}
}

// TestUsage: what cannot run is refused before anything is dialled.
func TestUsage(t *testing.T) {
	srv, conns := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", (&sink{}).script)
	host := plugintest.HostArgs(srv.Addr)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "no recipient: give --to ADDRESS (a discard address: every message is delivered)"},
		{[]string{"--to", "a@b", "--duration", "60"}, "--duration 60: want more than 0 and at most 48.5 seconds, 1.5 s less than -t (50): raise -t to run longer"},
		{[]string{"--to", "a@b", "--duration", "Inf"}, "--duration +Inf: want more than 0 and at most 48.5 seconds, 1.5 s less than -t (50): raise -t to run longer"},
		{[]string{"--to", "a@b", "--duration", "1e300"}, "--duration 1e+300: want more than 0 and at most 48.5 seconds, 1.5 s less than -t (50): raise -t to run longer"},
		{[]string{"--to", "a@b", "--rate", "1e-9"}, "--rate 1e-09 with --sessions 10: too slow to schedule (one message every 1e+10 s in each session); raise --rate or lower --sessions"},
		{[]string{"--to", "a@b", "--rate", "0"}, "--rate 0: want more than 0 and at most 100000 messages per second"},
		{[]string{"--to", "a@b", "--sessions", "0"}, "--sessions 0: want 1 to 1000"},
		{[]string{"--to", "a@b", "--messages", "0"}, "--messages 0: want 1 to 10000000"},
		{[]string{"--to", "a@b", "--recipients", "0"}, "--recipients 0: want 1 to 1000 per message"},
		{[]string{"--to", "a@b", "--per-session", "0"}, "--per-session 0: want 1 or more messages per connection"},
		{[]string{"--to", "a@b", "--session-timeout", "60"}, "--session-timeout 60: want 0.1 seconds up to -t (50)"},
		{[]string{"--to", "<a@b>"}, "--to \"<a@b>\": give the bare address, without <, > or spaces"},
		{[]string{"--to", "a@b", "--from", "x y@b"}, "--from \"x y@b\": give the bare address, without <, > or spaces"},
		{[]string{"--to", "a@b", "--mech", "PLAIN"}, "--mech without credentials: give --user and --password-ref, or leave --mech out to send without AUTH"},
	} {
		out := run(t, append(append([]string{}, host...), c.args...)...)
		out.Expect(t, 3, "SMTP LOAD UNKNOWN - "+c.want+" (see check_smtp_load --help)")
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections for refused command lines", n)
	}
	// A short -t shrinks the unset time bounds instead of refusing them;
	// a -t too short for any load still says what to raise.
	if out := run(t, append(append([]string{}, host...), "--to", "a@b", "--messages", "2", "-t", "3")...); out.Code != 0 || !strings.HasPrefix(out.Status(), "SMTP LOAD OK - 2 messages in ") {
		t.Errorf("-t 3 with the default bounds: exit %d\n%s", out.Code, out.Out)
	}
	run(t, append(append([]string{}, host...), "--to", "a@b", "-t", "1")...).Expect(t, 3, "SMTP LOAD UNKNOWN - --duration 0: want more than 0 and at most 0 seconds, 1.5 s less than -t (1): raise -t to run longer (see check_smtp_load --help)")
	// No default server: a bare --to must not load localhost:25.
	run(t, "--to", "a@b").Expect(t, 3, "SMTP LOAD UNKNOWN - no server: give -H HOST, the server to load (there is no default: every message is delivered) (see check_smtp_load --help)")
}

// TestAuth: AUTH in every session through internal/login; a wrong
// password is a 535 per session and stops the run.
func TestAuth(t *testing.T) {
	srv := smtptest.MustStart(t, smtptest.Config{Users: map[string]string{"load": "s3cret"}, RequireAuth: true})
	t.Setenv("LOAD_PW", "s3cret")
	r, out := runJSON(t, srv.Addr, "--user", "load", "--password-ref", "env:LOAD_PW", "--allow-plaintext", "--messages", "6", "--sessions", "2", "-v")
	if r.Items.Accepted != 6 || len(srv.Messages()) != 6 {
		t.Errorf("%d accepted, %d received; want 6:\n%s", r.Items.Accepted, len(srv.Messages()), out.Out)
	}
	if strings.Contains(out.Out, "s3cret") {
		t.Errorf("the password is in the output:\n%s", out.Out)
	}
	t.Setenv("LOAD_PW", "Xq9-not-it")
	r, out = runJSON(t, srv.Addr, "--user", "load", "--password-ref", "env:LOAD_PW", "--allow-plaintext", "--messages", "6", "--max-connect-failures", "2")
	if out.Code != 2 || r.Items.Failed != 2 || r.Items.Stop != StopConnect || !strings.HasPrefix(r.Summary, "stopped after 2 sessions in a row could not be set up: auth: \"535 ") {
		t.Errorf("exit %d, %d failed, stop %s, summary %q", out.Code, r.Items.Failed, r.Items.Stop, r.Summary)
	}
	if strings.Contains(out.Out, "Xq9-not-it") {
		t.Error("the password is in the output")
	}
}

// TestOpenLoopRate: over a bounded run the open loop starts messages at
// about the rate asked for (counted, with a wide margin for a busy host),
// whatever the concurrency.
func TestOpenLoopRate(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING"}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, _ := runJSON(t, srv.Addr, "--rate", "40", "--sessions", "4", "--per-session", "3", "--messages", "100000", "--duration", "1")
	if r.Items.Stop != StopDuration || r.Items.Measured < 25 || r.Items.Measured > 45 {
		t.Errorf("%d messages in a 1 s run at 40/s (stop %s): want about 40", r.Items.Measured, r.Items.Stop)
	}
}

// TestShortTimeoutStall: with a short -t and no --session-timeout, a
// stalled session ends inside the run as the server's timeout, counted as
// a failure, never "cut short" by the run's end (which a fast read could
// make one run say and the next not).
func TestShortTimeoutStall(t *testing.T) {
	k := &sink{onMail: func(*smtptest.FaultConn, int) string { return "hang" }}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	out := run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@b", "--messages", "1", "-t", "3")...)
	// The advice names the limit that fired (--session-timeout), in the
	// singular where one message failed.
	out.Expect(t, 2, "SMTP LOAD CRITICAL - no message accepted: 1 of 1 failed: mail: no answer within the 1.5 s timeout ("+srv.Addr+") - the server is slow or stuck; raise --session-timeout if this is expected")
}

// TestOpenLoopNotKeptUp: a server slower than the rate asked (0.2 s a
// message, 2 sessions: at most 10 a second against 40 asked) is a WARNING
// naming what could start, not an OK at whatever rate it managed.
func TestOpenLoopNotKeptUp(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING"}, onMail: func(*smtptest.FaultConn, int) string {
		time.Sleep(200 * time.Millisecond)
		return ""
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	out := run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@b", "--rate", "40", "--sessions", "2", "--per-session", "5", "--messages", "1000", "--duration", "1.5")...)
	if out.Code != 1 || !strings.Contains(out.Out, "msgs/s asked could start (--rate): every session was still busy when its next message was due; the server cannot take this rate with 2 sessions") {
		t.Errorf("exit %d, want 1 with the rate not kept up:\n%s", out.Code, out.Out)
	}
}
