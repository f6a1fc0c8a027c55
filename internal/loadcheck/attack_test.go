package loadcheck

import (
	"encoding/base64"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// The outside attack: hostile servers that stall, flood, close and echo,
// each with the exact verdict the run must give and a bound on its time.

// TestTarpit: a server that answers one byte a second is a timeout of the
// phase it stalls in, failed not accepted, and the run ends within -t.
func TestTarpit(t *testing.T) {
	for _, c := range []struct {
		name, want string
		sink       *sink
	}{
		{"banner", "banner timeout", &sink{greeting: "", onMail: nil}},
		{"mail", "mail timeout", &sink{onMail: func(c *smtptest.FaultConn, _ int) string {
			_ = c.Dribble("250 2.1.0 sender ok, slowly\r\n", time.Second)
			return "close"
		}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			script := c.sink.script
			if c.name == "banner" {
				script = func(fc *smtptest.FaultConn) { _ = fc.Dribble("220 tarpit.test ESMTP\r\n", time.Second) }
			}
			srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", script)
			r, out := runJSON(t, srv.Addr, "--messages", "3", "--sessions", "3", "-t", "4")
			if out.Code != 2 || r.Items.Failed != 3 || r.Items.Accepted != 0 {
				t.Errorf("exit %d, %+v; want CRITICAL, 3 failed", out.Code, r.Items)
			}
			expectErrors(t, r, map[string]int{"timeout " + c.want: 3})
			if want := "no message accepted: 3 of 3 failed: " + strings.Fields(c.want)[0] + ": no answer within the 2.5 s timeout "; !strings.HasPrefix(r.Summary, want) {
				t.Errorf("summary %q, want prefix %q", r.Summary, want)
			}
			out.Within(t, 4*time.Second)
		})
	}
}

// Test421MidRun: a server that sheds load with 421 after MAIL in some
// sessions: each such message is counted, failed (the server ended the
// session, not refused the message), classed 4xx by phase and code, and
// the run goes on with new sessions; none is dropped from the figures.
func Test421MidRun(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING"}}
	k.onMail = func(c *smtptest.FaultConn, n int) string {
		if n%4 == 3 {
			_ = c.Send("421 4.7.0 too many sessions, closing")
			return "close"
		}
		return ""
	}
	srv, conns := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--messages", "24", "--sessions", "3", "--per-session", "4", "--warning-errors", "50")
	it := r.Items
	if it.Measured != 24 || it.Accepted != 18 || it.Failed != 6 || it.Rejected != 0 || it.Cut != 0 {
		t.Errorf("counts %+v; want 24 measured: 18 accepted, 6 failed", it)
	}
	expectErrors(t, r, map[string]int{"4xx mail 421 4.7.0": 6})
	if it.Classes["4xx"] != 6 || len(it.Classes) != 1 {
		t.Errorf("classes %v, want 4xx 6", it.Classes)
	}
	if n := r.phase(t, Total).Count; n != 24 {
		t.Errorf("total histogram has %d values, want 24: failed messages count", n)
	}
	// A 421 ends the session: 6 sessions of 4 cut to 4, so more are opened.
	if n := conns.Load(); n <= 6 {
		t.Errorf("%d connections, want more than 6: each 421 ends its session", n)
	}
	if out.Code != 0 || r.State != "OK" {
		t.Errorf("exit %d state %s (%s): 25 %% errors are within --warning-errors 50", out.Code, r.State, r.Summary)
	}
	// Beyond the threshold it is WARNING, naming the code and its count.
	r, out = runJSON(t, srv.Addr, "--messages", "8")
	if want := "error rate 25.0 % (2 of 8 messages rejected or failed); most often mail 421 4.7.0 (2 times)"; out.Code != 1 || r.Summary != want {
		t.Errorf("exit %d, summary\n  %q\nwant\n  %q", out.Code, r.Summary, want)
	}
}

// TestEndlessMultiline: a reply that never ends its continuation lines is
// cut at the reader's bound, a protocol error of its phase, within -t.
func TestEndlessMultiline(t *testing.T) {
	flood := func(c *smtptest.FaultConn) {
		line := []byte("250-" + strings.Repeat("x", 60) + "\r\n")
		for c.SendRaw(line) == nil {
		}
	}
	for _, c := range []struct {
		name, key string
		script    func(*smtptest.FaultConn)
	}{
		{"ehlo", "ehlo", func(c *smtptest.FaultConn) {
			if c.Greet() == nil {
				if _, err := c.ReadLine(); err == nil {
					flood(c)
				}
			}
		}},
		{"mail", "mail", (&sink{onMail: func(c *smtptest.FaultConn, _ int) string { flood(c); return "close" }}).script},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", c.script)
			r, out := runJSON(t, srv.Addr, "--messages", "2", "-t", "5")
			if out.Code != 2 || r.Items.Failed != 2 {
				t.Errorf("exit %d, %+v: want CRITICAL, 2 failed", out.Code, r.Items)
			}
			expectErrors(t, r, map[string]int{"protocol " + c.key + " protocol error": 2})
			out.Within(t, 5*time.Second)
		})
	}
}

// TestSignalInTLSHandshake: SIGINT while every session is inside a TLS
// handshake the server never finishes: the partial report, UNKNOWN, soon
// after the signal (the drain grace), not at -t.
func TestSignalInTLSHandshake(t *testing.T) {
	var once sync.Once // a second signal would have its usual effect
	script := func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO("STARTTLS") != nil {
			return
		}
		if _, err := c.Expect("STARTTLS"); err != nil {
			return
		}
		_ = c.Send("220 2.0.0 go ahead")
		if _, err := c.ReadFull(5); err == nil { // the ClientHello's record header
			once.Do(func() { _ = syscall.Kill(syscall.Getpid(), syscall.SIGINT) })
		}
		c.Hang()
	}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", script)
	start := time.Now()
	r, out := runJSON(t, srv.Addr, "-S", "--insecure", "--duration", "20", "-t", "30")
	if out.Code != 3 || r.Items.Stop != StopSignal || !strings.HasPrefix(r.Summary, "stopped by SIGINT after ") {
		t.Errorf("exit %d, stop %q, summary %q", out.Code, r.Items.Stop, r.Summary)
	}
	// Cut short by the signal: neither the server's failure nor accepted.
	if r.Items.Cut != 1 || r.Items.Failed != 0 || r.Items.Accepted != 0 {
		t.Errorf("%+v: want 1 cut short", r.Items)
	}
	if el := time.Since(start); el > drainGrace+2*time.Second {
		t.Errorf("took %s: want about the %s drain grace", el, drainGrace)
	}
}

// TestSignalInData: SIGTERM while a large message is being written to a
// server that stopped reading after 354 (the client blocked in a write).
func TestSignalInData(t *testing.T) {
	var signalled atomic.Int64
	script := func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO() != nil {
			return
		}
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			if strings.EqualFold(line, "DATA") {
				_ = c.Send("354 go ahead")
				signalled.Store(time.Now().UnixNano())
				_ = syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
				_ = c.Pause(time.Minute) // read nothing more
				return
			}
			_ = c.Send("250 ok")
		}
	}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", script)
	r, out := runJSON(t, srv.Addr, "--size", "20000000", "--duration", "20", "-t", "30")
	if out.Code != 3 || r.Items.Stop != StopSignal || r.Items.Cut != 1 || r.Items.Failed != 0 {
		t.Errorf("exit %d, stop %q, %+v; want the signal's UNKNOWN, 1 cut short", out.Code, r.Items.Stop, r.Items)
	}
	if el := time.Since(time.Unix(0, signalled.Load())); el > drainGrace+time.Second {
		t.Errorf("took %s: want about the %s drain grace", el, drainGrace)
	}
}

// TestNoGoroutineLeft: a run leaves no goroutine behind, whether it ended
// normally, by stalls, or by the session timeout.
func TestNoGoroutineLeft(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := &sink{exts: []string{"PIPELINING"}, onEnd: func(c *smtptest.FaultConn, n int) string {
		if n%7 == 3 {
			return "hang"
		}
		return ""
	}}
	srv := smtptest.MustStartFault(t, k.script)
	r, _ := runJSON(t, srv.Addr, "--messages", "30", "--sessions", "5", "--per-session", "3", "--session-timeout", "0.3", "--warning-errors", "100")
	if r.Items.Measured != 30 {
		t.Errorf("%d measured, want 30", r.Items.Measured)
	}
	srv.Close()
}

// TestOpenLoopP99: one reply held 1 s in an open loop of 100/s: the plain
// p99 of 150 messages hides it (1 in 150), the corrected p99 shows it
// (the 99 messages it held back), close to the injected delay, not above
// it by much; and -w judges the corrected one.
func TestOpenLoopP99(t *testing.T) {
	const hold = time.Second
	k := &sink{exts: []string{"PIPELINING"}, onEnd: func(c *smtptest.FaultConn, n int) string {
		if n == 20 {
			_ = c.Pause(hold)
		}
		return ""
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--rate", "100", "--sessions", "1", "--per-session", "1000", "--messages", "150", "-w", "0.5")
	plain, corr := r.phase(t, Total), r.phase(t, Corrected)
	if plain.Count != 150 || r.Items.Accepted != 150 {
		t.Fatalf("%d totals, %d accepted; want 150", plain.Count, r.Items.Accepted)
	}
	if plain.P99 > 0.5 {
		t.Errorf("plain p99 %g s: 1 slow message in 150 should stay above it", plain.P99)
	}
	if corr.P99 < 0.9*hold.Seconds() || corr.P99 > 1.5*hold.Seconds() {
		t.Errorf("corrected p99 %g s; want about the %s held", corr.P99, hold)
	}
	if corr.Max < hold.Seconds() || corr.Max > 1.5*hold.Seconds() {
		t.Errorf("corrected max %g s; want about %s", corr.Max, hold)
	}
	// The 99 beats skipped while it held also show as a rate not kept up.
	if out.Code != 1 || !strings.Contains(r.Summary, "; total_corrected p99 ") || !strings.HasSuffix(r.Summary, " s, outside 0.5") ||
		!strings.HasPrefix(r.Summary, "only ") {
		t.Errorf("exit %d, summary %q: want WARNING on the rate kept up and the corrected p99", out.Code, r.Summary)
	}
}

// TestAuthEchoRedacted: a server that echoes the password (decoded) and
// its base64 form in every reply: no form of it in any output, at every
// -v and with --output json, whether the login succeeds or fails.
func TestAuthEchoRedacted(t *testing.T) {
	const pw = "Zq7-echo-s3cret"
	b64 := base64.StdEncoding.EncodeToString([]byte("\x00load\x00" + pw))
	forbidden := []string{pw, b64, base64.StdEncoding.EncodeToString([]byte(pw))}
	for _, accept := range []bool{true, false} {
		script := func(c *smtptest.FaultConn) {
			if c.Greet() != nil || c.EHLO("AUTH PLAIN LOGIN", "PIPELINING") != nil {
				return
			}
			for {
				line, err := c.ReadLine()
				if err != nil {
					return
				}
				verb, arg, _ := strings.Cut(line, " ")
				switch strings.ToUpper(verb) {
				case "AUTH":
					if accept {
						_ = c.Send("235 2.7.0 welcome " + arg + " " + pw)
					} else {
						_ = c.Send("535 5.7.8 bad " + arg + " " + pw)
					}
				case "MAIL", "RCPT":
					_ = c.Send("250-ok "+pw, "250 ok "+b64)
				case "DATA":
					_ = c.Send("354 go " + pw)
					for l, err := c.ReadLine(); err == nil && l != "."; l, err = c.ReadLine() {
					}
					_ = c.Send("451 4.3.0 " + pw + " " + b64)
				case "QUIT":
					_ = c.Send("221 bye " + pw)
					return
				default:
					_ = c.Send("250 ok " + pw)
				}
			}
		}
		srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", script)
		t.Setenv("LOAD_PW", pw)
		for _, v := range [][]string{nil, {"-v"}, {"-vv"}, {"-vvv"}} {
			args := append([]string{"--user", "load", "--password-ref", "env:LOAD_PW", "--allow-plaintext", "--mech", "PLAIN", "--messages", "3"}, v...)
			_, js := runJSON(t, srv.Addr, args...)
			text := run(t, append(append(plugintest.HostArgs(srv.Addr), "--to", "a@load.test"), args...)...)
			for _, o := range []plugintest.Outcome{js, text} {
				// accepted: every message refused with 451 (WARNING); else the login (CRITICAL)
				if want := map[bool]int{true: 1, false: 2}[accept]; o.Code != want {
					t.Errorf("accept=%v %v: exit %d, want %d\n%s", accept, v, o.Code, want, o.Out)
				}
				for _, f := range forbidden {
					if strings.Contains(o.Out, f) {
						t.Errorf("accept=%v %v: the secret form %q is in the output:\n%s", accept, v, f, o.Out)
					}
				}
			}
		}
	}
}

// TestAdviceNamesLoadFlags: the advice names check_smtp_load's own login
// and mechanism flags, not check_smtp_conn's -A/-U/-P; counts of one are
// singular.
func TestAdviceNamesLoadFlags(t *testing.T) {
	k := &sink{exts: []string{"AUTH PLAIN"}, onRcpt: func(*smtptest.FaultConn, int) string {
		return "554 5.7.1 <sink@load.test>: Recipient address rejected: Access denied"
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	out := run(t, append(plugintest.HostArgs(srv.Addr), "--to", "sink@load.test", "--messages", "1")...)
	out.Expect(t, 2, "SMTP LOAD CRITICAL - no message accepted: 1 of 1 rejected: rcpt: \"554 5.7.1 <sink@load.test>: Recipient address rejected: Access denied\" ("+srv.Addr+") - the server refuses this client, sender or relay by policy: it offers AUTH and no login succeeded here: if this port is for submission, it wants one (--user and --password-ref); else check its access rules and blocklists")
	out.Contains(t, "1 measured (0 accepted, 1 rejected, 0 failed) in 1 session over ", "stopped: all 1 message sent")

	// A mechanism the server refuses: --mech, not -A.
	mechSrv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO("AUTH PLAIN") != nil {
			return
		}
		if _, err := c.Expect("AUTH"); err == nil {
			_ = c.Send("504 5.5.4 mechanism not supported")
		}
		_, _ = c.ReadLine()
		_ = c.Send("221 bye")
	})
	t.Setenv("LOAD_PW", "pw")
	out = run(t, append(plugintest.HostArgs(mechSrv.Addr), "--to", "a@load.test", "--user", "u", "--password-ref", "env:LOAD_PW", "--allow-plaintext", "--messages", "1", "--max-connect-failures", "1")...)
	out.Expect(t, 2, "SMTP LOAD CRITICAL - stopped after a session could not be set up: auth: \"504 5.5.4 mechanism not supported\" ("+mechSrv.Addr+") - the server does not support this mechanism: pick one it offers with --mech")
}

// TestSummaryCounts: the summary's counts in the singular and plural, and
// "most often" only where more than one error was seen.
func TestSummaryCounts(t *testing.T) {
	k := &sink{onMail: func(c *smtptest.FaultConn, n int) string {
		if n == 1 {
			_ = c.Send("421 4.7.0 closing")
			return "close"
		}
		return ""
	}, onRcpt: func(_ *smtptest.FaultConn, n int) string {
		if n%2 == 0 {
			return "550 5.1.1 no such user"
		}
		return ""
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	out := run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@load.test", "--messages", "3")...)
	out.Expect(t, 2, "SMTP LOAD CRITICAL - no message accepted: 3 of 3 rejected or failed (2 rejected, 1 failed); most often (2 times): rcpt: \"550 5.1.1 no such user\" ("+srv.Addr+") - the recipient does not exist on this server")
	// Messages 3 to 5: one rejected of three.
	out = run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@load.test", "--messages", "3", "--sessions", "1")...)
	if want := "SMTP LOAD WARNING - error rate 33.3 % (1 of 3 messages rejected or failed); most often rcpt 550 5.1.1 (1 time)"; out.Code != 1 || out.Status() != want {
		t.Errorf("exit %d, status\n  %q\nwant\n  %q", out.Code, out.Status(), want)
	}
}

// TestErrorKindsBounded: a server that gives every message another
// enhanced code makes no more than maxErrorKinds kinds of error; the rest
// are counted together by class, none dropped.
func TestErrorKindsBounded(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING"}, onRcpt: func(_ *smtptest.FaultConn, n int) string {
		return fmt.Sprintf("550 5.1.%d no such user", n)
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--messages", "150", "--per-session", "150")
	if out.Code != 2 || r.Items.Rejected != 150 || len(r.Items.Errors) != maxErrorKinds+1 {
		t.Fatalf("exit %d, %d rejected, %d kinds of error; want CRITICAL, 150, %d", out.Code, r.Items.Rejected, len(r.Items.Errors), maxErrorKinds+1)
	}
	if e := r.Items.Errors[0]; e.Class != "5xx" || e.Key != otherKinds || e.Count != 50 {
		t.Errorf("first error %+v, want the 50 beyond the bound as %q", e, otherKinds)
	}
	if r.Items.Classes["5xx"] != 150 {
		t.Errorf("classes %v, want 5xx 150", r.Items.Classes)
	}
	out = run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@load.test", "--messages", "150", "--per-session", "150")...)
	out.Contains(t, "error: other kinds (more than 100 seen) x50: ", "... 91 more kinds of error (--output json lists all)")
}

// TestLongSessionRenewed: a session of many messages that goes on past
// its --session-timeout is renewed in time, not failed as a timeout: the
// timeout catches a stall, not a long healthy session.
func TestLongSessionRenewed(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING"}, onEnd: func(c *smtptest.FaultConn, _ int) string {
		_ = c.Pause(20 * time.Millisecond)
		return ""
	}}
	srv, conns := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--messages", "40", "--per-session", "1000", "--session-timeout", "0.3")
	if out.Code != 0 || r.Items.Accepted != 40 || r.Items.Failed != 0 {
		t.Errorf("exit %d, %+v: want all 40 accepted", out.Code, r.Items)
	}
	// 40 messages of 20 ms, a session renewed after 0.15 s: 5 or more.
	if n := conns.Load(); n < 4 || int(n) != r.Items.Opened {
		t.Errorf("%d connections, %d sessions counted: want several, renewed", n, r.Items.Opened)
	}
}

// TestOpenLoopBeatOutsideSession: in the open loop a session that would
// wait for its next beat past half its --session-timeout ends first; the
// wait must not spend the session's time and fail a healthy server's
// next message as a timeout.
func TestOpenLoopBeatOutsideSession(t *testing.T) {
	k := &sink{exts: []string{"PIPELINING"}}
	srv, conns := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	// One message every 0.5 s, a session timeout of 0.4 s.
	r, out := runJSON(t, srv.Addr, "--rate", "2", "--sessions", "1", "--per-session", "10", "--messages", "3", "--session-timeout", "0.4")
	if out.Code != 0 || r.Items.Accepted != 3 || r.Items.Failed != 0 {
		t.Errorf("exit %d, %+v, summary %q: want all 3 accepted", out.Code, r.Items, r.Summary)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections, want 3: a beat beyond half the session timeout opens a new one", n)
	}
}

// TestErrorKindsBoundedPerRun: the bound on kinds of error holds for the
// run, not per shard: with several shards (one per CPU) the merged list
// keeps maxErrorKinds kinds and one "other kinds" per class, none dropped.
func TestErrorKindsBoundedPerRun(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("one CPU: one shard")
	}
	k := &sink{exts: []string{"PIPELINING"}, onRcpt: func(_ *smtptest.FaultConn, n int) string {
		return fmt.Sprintf("550 5.1.%d no such user", n)
	}}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", k.script)
	r, out := runJSON(t, srv.Addr, "--messages", "400", "--sessions", "4", "--per-session", "100")
	if out.Code != 2 || r.Items.Rejected != 400 || len(r.Items.Errors) != maxErrorKinds+1 {
		t.Fatalf("exit %d, %d rejected, %d kinds of error; want CRITICAL, 400, %d", out.Code, r.Items.Rejected, len(r.Items.Errors), maxErrorKinds+1)
	}
	sum := 0
	for _, e := range r.Items.Errors {
		sum += e.Count
	}
	if e := r.Items.Errors[0]; sum != 400 || e.Key != otherKinds || e.Count != 300 {
		t.Errorf("%d counted, first %+v; want 400, the 300 beyond the bound as %q", sum, e, otherKinds)
	}
	// The status line does not pass one reply, seen once, off as the
	// most frequent.
	if want := "no message accepted: 400 of 400 rejected, in more than 100 kinds of error; one of them: rcpt: \"550 5.1."; !strings.HasPrefix(r.Summary, want) {
		t.Errorf("summary\n  %q\nwant prefix\n  %q", r.Summary, want)
	}
}

// TestAuthEchoNoTranscript: without -v no session keeps a transcript, and
// a server that echoes the PLAIN response (base64 with padding) in its 535
// on every session must still see it redacted once the run stops after
// --max-connect-failures sessions that could not log in.
func TestAuthEchoNoTranscript(t *testing.T) {
	const pw = "Sup3rS3cret!"
	b64 := base64.StdEncoding.EncodeToString([]byte("\x00mon\x00" + pw)) // ends in "="
	script := func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO("AUTH PLAIN") != nil {
			return
		}
		if line, err := c.ReadLine(); err == nil {
			_, resp, _ := strings.Cut(strings.TrimPrefix(line, "AUTH "), " ")
			_ = c.Send("535 5.7.8 bad credentials " + resp + " mon")
		}
		_, _ = c.ReadLine()
	}
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", script)
	t.Setenv("LOAD_PW", pw)
	for _, extra := range [][]string{nil, {"--output", "json"}} {
		args := append([]string{"--to", "a@load.test", "--user", "mon", "--password-ref", "env:LOAD_PW", "--allow-plaintext", "--mech", "PLAIN", "--messages", "20"}, extra...)
		o := run(t, append(plugintest.HostArgs(srv.Addr), args...)...)
		if o.Code != 2 || !strings.Contains(o.Out, `bad credentials `+smtp.Redacted+` mon`) || strings.Contains(o.Out, b64) || strings.Contains(o.Out, pw) {
			t.Errorf("%v: exit %d, want 2 with the echoed response redacted:\n%s", extra, o.Code, o.Out)
		}
	}
}

// TestSCRAMWithoutProof: a server that answers SCRAM's first message with
// 235, never proving that it holds the password's keys, is no login that
// counts (check_smtp_auth calls it CRITICAL; load says the same).
func TestSCRAMWithoutProof(t *testing.T) {
	script := (&sink{exts: []string{"AUTH SCRAM-SHA-256", "PIPELINING"}, auth: "235 2.7.0 welcome"}).script
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", script)
	t.Setenv("LOAD_PW", "pencil-and-paper")
	o := run(t, append(plugintest.HostArgs(srv.Addr), "--to", "a@load.test", "--user", "load", "--password-ref", "env:LOAD_PW",
		"--allow-plaintext", "--mech", "SCRAM-SHA-256", "--messages", "3")...)
	if o.Code != 2 || !strings.Contains(o.Out, "without proving that it knows the password") {
		t.Errorf("exit %d, want 2 naming the missing server proof:\n%s", o.Code, o.Out)
	}
}
