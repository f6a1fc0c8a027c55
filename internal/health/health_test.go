package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// lockedBuffer is the daemon's log, written by its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// daemon is one run of the daemon on loopback.
type daemon struct {
	url  string
	sigs chan os.Signal
	exit chan int
	log  *lockedBuffer
	file string
}

// startDaemon writes ini (after a [smtpcheck-health] section listening on
// a free loopback port) and runs the daemon on it until the test ends.
func startDaemon(t *testing.T, ini string, args ...string) *daemon {
	t.Helper()
	d := &daemon{sigs: make(chan os.Signal, 1), exit: make(chan int, 1), log: &lockedBuffer{}}
	d.file = filepath.Join(t.TempDir(), "health.ini")
	d.write(t, ini)
	ready := make(chan string, 1)
	go func() {
		d.exit <- run(append([]string{"--config", d.file}, args...), slog.New(slog.NewTextHandler(d.log, nil)), d.sigs,
			func(addr string) { ready <- addr })
	}()
	select {
	case addr := <-ready:
		d.url = "http://" + addr
	case code := <-d.exit:
		t.Fatalf("daemon exited with %d:\n%s", code, d.log)
	}
	t.Cleanup(func() {
		select {
		case d.sigs <- syscall.SIGTERM:
			<-d.exit
		case <-d.exit:
		}
	})
	return d
}

func (d *daemon) write(t *testing.T, ini string) {
	t.Helper()
	if err := os.WriteFile(d.file, []byte("[smtpcheck-health]\nlisten = 127.0.0.1:0\n\n"+ini), 0o600); err != nil {
		t.Fatal(err)
	}
}

// get requests path and returns the status and body; the client gives up
// after 20 s, far beyond any check's -t here.
func (d *daemon) get(t *testing.T, method, path string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, d.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func decode(t *testing.T, body string) report {
	t.Helper()
	var r report
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return r
}

// smtpOK is a well-behaved server: banner, EHLO, QUIT. pause delays the
// banner, so that a probe stays in flight for a while.
func smtpOK(pause time.Duration) func(c *smtptest.FaultConn) {
	return func(c *smtptest.FaultConn) {
		if c.Pause(pause) != nil || c.Greet() != nil || c.EHLO("PIPELINING") != nil {
			return
		}
		if _, err := c.Expect("QUIT"); err == nil {
			_ = c.Send("221 2.0.0 bye")
		}
	}
}

func connProfile(name, addr string, extra ...string) string {
	host, port, _ := strings.Cut(addr, ":")
	return fmt.Sprintf("[%s]\nplugin = conn\nhostname = %s\nport = %s\nno-tls\n%s\n", name, host, port, strings.Join(extra, "\n")+"\n")
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	srv := smtptest.MustStartFault(t, func(*smtptest.FaultConn) {})
	addr := srv.Addr
	srv.Close()
	return addr
}

func TestStatusMapping(t *testing.T) {
	ok, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", smtpOK(0))
	down := closedAddr(t)
	ini := connProfile("ok", ok.Addr) +
		connProfile("slow", ok.Addr, "warning = 0.000001") + // any session is slower: WARNING
		connProfile("down", down)
	for _, c := range []struct {
		args             []string
		path             string
		status           int
		state, summary   string
		checks           int
		warnStatusIs503  bool
		summaryHasPrefix bool
	}{
		{nil, "/health/ok", 200, "OK", "127.0.0.1:", 0, false, true},
		{nil, "/health/slow", 200, "WARNING", "", 0, false, false},
		{[]string{"--warning-status", "503"}, "/health/slow", 503, "WARNING", "", 0, true, false},
		{nil, "/health/down", 503, "CRITICAL", "connect: connection refused (" + down + ")", 0, false, true},
		{nil, "/health", 503, "CRITICAL", "down: connect: connection refused (" + down + ")", 3, false, true},
	} {
		t.Run(strings.Join(c.args, " ")+c.path, func(t *testing.T) {
			d := startDaemon(t, ini, c.args...)
			status, body, h := d.get(t, "GET", c.path)
			r := decode(t, body)
			if status != c.status || r.State != c.state || r.Status != c.status || len(r.Checks) != c.checks {
				t.Errorf("got %d %s (status %d, %d checks), want %d %s (%d checks):\n%s", status, r.State, r.Status, len(r.Checks), c.status, c.state, c.checks, body)
			}
			if c.summaryHasPrefix && !strings.HasPrefix(r.Summary, c.summary) {
				t.Errorf("summary %q, want it to start with %q", r.Summary, c.summary)
			}
			if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", h)
			}
			// HEAD: the same status, no body.
			if hs, hb, _ := d.get(t, "HEAD", c.path); hs != c.status || hb != "" {
				t.Errorf("HEAD: %d %q", hs, hb)
			}
		})
	}
}

func TestJSONShape(t *testing.T) {
	ok, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", smtpOK(0))
	d := startDaemon(t, connProfile("mx", ok.Addr))
	before := time.Now()
	_, body, _ := d.get(t, "GET", "/health/mx")
	var raw map[string]any
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	for _, k := range []string{"name", "plugin", "state", "status", "summary", "findings", "details", "perfdata", "checked_at", "age", "duration"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("no %q in %v", k, keys)
		}
	}
	r := decode(t, body)
	want := "127.0.0.1:" + strings.Split(ok.Addr, ":")[1] + " answered in "
	if r.Name != "mx" || r.Plugin != "conn" || len(r.Findings) != 1 || r.Findings[0].State != "OK" || !strings.HasPrefix(r.Findings[0].Text, want) {
		t.Errorf("got %+v", r)
	}
	labels := map[string]string{}
	for _, p := range r.Perfdata {
		labels[p.Label] = p.Unit
	}
	if labels["total"] != "s" || labels["banner"] != "s" {
		t.Errorf("perfdata %v", r.Perfdata)
	}
	if r.CheckedAt.Before(before.Add(-time.Second)) || *r.Age < 0 || *r.Duration <= 0 {
		t.Errorf("checked_at %v age %v duration %v", r.CheckedAt, *r.Age, *r.Duration)
	}

	for _, c := range []struct {
		method, path string
		status       int
		summary      string
	}{
		{"GET", "/health/nope", 404, "no such check: the checks are mx"},
		{"GET", "/", 404, "not found: try /health, /health/NAME (mx) or /metrics"},
		{"POST", "/health/mx", 405, "only GET and HEAD are served"},
	} {
		status, body, h := d.get(t, c.method, c.path)
		if r := decode(t, body); status != c.status || r.State != "UNKNOWN" || r.Summary != c.summary {
			t.Errorf("%s %s: %d %s", c.method, c.path, status, body)
		}
		if c.status == 405 && h.Get("Allow") != "GET, HEAD" {
			t.Errorf("Allow: %q", h.Get("Allow"))
		}
	}
}

// TestSingleFlight: a flood of concurrent requests, on every URL that runs
// the check, costs the SMTP server one session per max-age.
func TestSingleFlight(t *testing.T) {
	srv, sessions := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", smtpOK(300*time.Millisecond))
	d := startDaemon(t, connProfile("mx", srv.Addr), "--max-age", "1.5", "--max-requests", "200")
	flood := func() []report {
		const n = 60
		reps := make([]report, n)
		var wg sync.WaitGroup
		paths := []string{"/health/mx", "/health", "/metrics"}
		for i := range n {
			wg.Go(func() {
				path := paths[i%len(paths)]
				status, body, _ := d.get(t, "GET", path)
				if status != 200 {
					t.Errorf("%s: %d %s", path, status, body)
				}
				if path == "/health/mx" {
					reps[i] = decode(t, body)
				}
			})
		}
		wg.Wait()
		return reps
	}
	reps := flood()
	if n := sessions.Load(); n != 1 {
		t.Fatalf("%d SMTP sessions for one flood, want 1", n)
	}
	first := reps[0].CheckedAt
	for _, r := range reps {
		if r.CheckedAt != nil && !r.CheckedAt.Equal(*first) {
			t.Errorf("results from two probes: %v and %v", first, r.CheckedAt)
		}
	}
	flood() // within max-age: the cache
	if n := sessions.Load(); n != 1 {
		t.Fatalf("%d SMTP sessions for two floods within max-age, want 1", n)
	}
	time.Sleep(time.Until(first.Add(1600 * time.Millisecond)))
	flood() // stale: one new probe for all of them
	if n := sessions.Load(); n != 2 {
		t.Fatalf("%d SMTP sessions after max-age, want 2", n)
	}
	if _, body, _ := d.get(t, "GET", "/metrics"); !strings.Contains(body, "smtpcheck_health_probes_total{check=\"mx\",plugin=\"conn\"} 2\n") {
		t.Errorf("metrics:\n%s", body)
	}
}

// TestStalledServer: a server that never greets holds the answer for the
// check's -t, not longer, and the verdict names the phase.
func TestStalledServer(t *testing.T) {
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", func(c *smtptest.FaultConn) { c.Hang() })
	d := startDaemon(t, connProfile("mx", srv.Addr, "timeout = 1"))
	client := &http.Client{Timeout: 1*time.Second + 2*time.Second} // -t plus a generous margin
	resp, err := client.Get(d.url + "/health/mx")
	if err != nil {
		t.Fatalf("the stalled server stalled the HTTP side: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := decode(t, string(b))
	if resp.StatusCode != 503 || r.State != "CRITICAL" || !strings.Contains(r.Summary, "banner") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

func TestReload(t *testing.T) {
	srv, sessions := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", smtpOK(0))
	d := startDaemon(t, connProfile("mx", srv.Addr), "--max-age", "60")
	if status, _, _ := d.get(t, "GET", "/health/mx"); status != 200 {
		t.Fatal(status)
	}
	hup := func(want string) {
		t.Helper()
		d.sigs <- syscall.SIGHUP
		for range 100 {
			if strings.Contains(d.log.String(), want) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("no %q in the log:\n%s", want, d.log)
	}
	// A good config: a new check appears; the unchanged one keeps its cache.
	d.write(t, connProfile("mx", srv.Addr)+connProfile("second", srv.Addr))
	hup("msg=reloaded checks=mx,second")
	if status, _, _ := d.get(t, "GET", "/health/second"); status != 200 {
		t.Errorf("/health/second after reload: %d", status)
	}
	d.get(t, "GET", "/health/mx")
	if n := sessions.Load(); n != 2 {
		t.Errorf("%d sessions, want 2: the unchanged check lost its cache", n)
	}
	// A bad config: refused, the old one still served.
	d.write(t, connProfile("mx", srv.Addr)+"[broken]\nplugin = delivery\n")
	hup(`reload refused, keeping the previous configuration: ` + d.file + `: profile [broken]: plugin = delivery: a profile runs conn, tls or auth`)
	if status, _, _ := d.get(t, "GET", "/health/second"); status != 200 {
		t.Errorf("/health/second after a bad reload: %d", status)
	}
}

// TestShutdown: SIGTERM lets a request in progress finish, then exits 0.
func TestShutdown(t *testing.T) {
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", smtpOK(500*time.Millisecond))
	d := startDaemon(t, connProfile("mx", srv.Addr))
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get(d.url + "/health/mx")
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	time.Sleep(200 * time.Millisecond) // the request is waiting for the probe
	d.sigs <- syscall.SIGTERM
	if code := <-d.exit; code != 0 {
		t.Errorf("exit %d", code)
	}
	if status := <-got; status != 200 {
		t.Errorf("the request in progress got %d", status)
	}
	if _, err := http.Get(d.url + "/health/mx"); err == nil {
		t.Error("still serving after SIGTERM")
	}
	d.exit <- 0 // for the cleanup
}

func (c *check) isBusy() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.busy
}

// TestWatchdog: a run that hangs past -t gets the verdict a plugin's
// watchdog gives, and no second run starts until it ends.
func TestWatchdog(t *testing.T) {
	release := make(chan struct{})
	var runs atomic.Int32
	c := &check{name: "x", plugin: "conn", service: "SMTP", timeout: plugin.Timeout{Duration: 200 * time.Millisecond, State: plugin.Critical},
		run: func(context.Context) *plugin.Result {
			if runs.Add(1) == 1 {
				<-release
			}
			r := &plugin.Result{Service: "SMTP"}
			r.Add(plugin.OK, "fine")
			return r
		}}
	e := &env{ctx: t.Context(), slots: make(chan struct{}, 1), log: slog.New(slog.DiscardHandler)}
	o, err := c.get(t.Context(), e, time.Nanosecond, true)
	want := "stuck: no verdict within the 0.2 s timeout (-t); run the check by hand with -v to see where it hangs"
	if err != nil || o.state.String() != "CRITICAL" || o.result.Summary() != want {
		t.Fatalf("%v %v", o, err)
	}
	// Stale, but the stuck run is alive: no second run piles up.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if o2, _ := c.get(ctx, e, time.Nanosecond, true); o2 != o || runs.Load() != 1 {
		t.Errorf("runs %d", runs.Load())
	}
	close(release)
	for c.isBusy() {
		time.Sleep(10 * time.Millisecond)
	}
	if o3, _ := c.get(t.Context(), e, time.Nanosecond, true); o3.state.String() != "OK" || runs.Load() != 2 {
		t.Errorf("after the stuck run ended: %v, runs %d", o3.state, runs.Load())
	}
}

const secret = "s3cret-Pa55w0rd"

// authServer offers AUTH PLAIN without TLS and answers the login with
// reply; "" hangs, "close" drops the connection.
func authServer(t *testing.T, reply string) string {
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO("AUTH PLAIN LOGIN") != nil {
			return
		}
		if _, err := c.Expect("AUTH"); err != nil {
			return
		}
		switch reply {
		case "":
			c.Hang()
			return
		case "close":
			return
		}
		_ = c.Send(reply)
		if _, err := c.Expect("QUIT"); err == nil {
			_ = c.Send("221 2.0.0 bye")
		}
	})
	return srv.Addr
}

func authProfile(name, addr, pass string) string {
	host, port, _ := strings.Cut(addr, ":")
	return fmt.Sprintf("[%s]\nplugin = auth\nhostname = %s\nport = %s\nno-tls\nallow-plaintext\nmech = PLAIN\nuser = monitor\ntimeout = 1\n%s\n", name, host, port, pass)
}

// TestNoSecretInOutput: with passwords in profiles (literal, and from the
// environment) and every outcome of a login, no response and no log line
// holds the password.
func TestNoSecretInOutput(t *testing.T) {
	t.Setenv("HEALTH_TEST_SECRET", secret)
	ini := authProfile("accepted", authServer(t, "235 2.7.0 Authentication successful"), "authpass = "+secret) +
		authProfile("refused", authServer(t, "535 5.7.8 Authentication credentials invalid"), "authpass = "+secret) +
		authProfile("dropped", authServer(t, "close"), "password-ref = env:HEALTH_TEST_SECRET") +
		authProfile("stalled", authServer(t, ""), "password-ref = env:HEALTH_TEST_SECRET") +
		authProfile("unset", authServer(t, "235 2.7.0 ok"), "password-ref = env:HEALTH_TEST_NOT_SET")
	d := startDaemon(t, ini)
	var seen strings.Builder
	states := map[string]string{}
	for _, path := range []string{"/health", "/health/accepted", "/health/refused", "/health/dropped", "/health/stalled", "/health/unset", "/metrics", "/health/nope", "/x"} {
		for _, m := range []string{"GET", "HEAD", "POST"} {
			_, body, h := d.get(t, m, path)
			fmt.Fprintf(&seen, "%s %s %v\n%s\n", m, path, h, body)
			if m == "GET" && strings.HasPrefix(path, "/health/") {
				states[path] = decode(t, body).State
			}
			// A password in the profile is one read from a file, not one
			// on a command line that ps shows.
			if strings.Contains(body, "command line") {
				t.Errorf("%s %s: %s", m, path, body)
			}
		}
	}
	want := map[string]string{"/health/accepted": "OK", "/health/refused": "CRITICAL", "/health/dropped": "CRITICAL",
		"/health/stalled": "CRITICAL", "/health/unset": "UNKNOWN", "/health/nope": "UNKNOWN"}
	for p, st := range want {
		if states[p] != st {
			t.Errorf("%s: %s, want %s", p, states[p], st)
		}
	}
	// A reload that fails on the line after a password.
	d.write(t, authProfile("refused", "127.0.0.1:1", "authpass = "+secret+"\n"+secret))
	d.sigs <- syscall.SIGHUP
	for !strings.Contains(d.log.String(), "reload refused") {
		time.Sleep(20 * time.Millisecond)
	}
	for what, text := range map[string]string{"responses": seen.String(), "log": d.log.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("the password is in the %s:\n%s", what, text)
		}
	}
	if !strings.Contains(d.log.String(), "line 14: not an option of check_smtp_auth (its text is not shown: it may be a secret)") {
		t.Errorf("log:\n%s", d.log)
	}
}

// TestConfigErrors: what load refuses, in the words it uses.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "h.ini")
	conn := "[mx]\nplugin = conn\nhostname = 127.0.0.1\n"
	for _, c := range []struct{ ini, args, want string }{
		{"", "", file + ": no check profile: add a section such as [mx] with plugin = conn and hostname = ..."},
		{"[mx]\nhostname = x\n", "", file + ": profile [mx]: no plugin: add plugin = conn, tls or auth"},
		{"[mx]\nplugin = load\n", "", file + ": profile [mx]: plugin = load: a profile runs conn, tls or auth (one session that sends nothing); run delivery, security and load from your monitoring engine"},
		{"[a/b]\nplugin = conn\n", "", file + ": profile [a/b]: a profile name is up to 64 letters, digits, '.', '_' or '-': it becomes the URL /health/NAME"},
		{conn + "output = json\n", "", file + ": profile [mx]: output has no place in a profile: the endpoint answers in JSON, without transcripts"},
		{conn + "bogus = 1\n", "", file + ": profile [mx]: line 4: bogus is not an option of check_smtp_conn"},
		{conn + "port = x\n", "", file + ": profile [mx]: -p: want a whole number, not \"x\""},
		{conn + "timeout = 0\n", "", file + ": profile [mx]: -t: want SECONDS or SECONDS:STATE, e.g. 10 or 10:UNKNOWN (0.1 to 3600 seconds)"},
		{"[smtpcheck-health]\nmax-age = 0\n" + conn, "", "--max-age must be at least 1 second: the cache is what keeps a flood of requests from flooding the mail server"},
		{"[smtpcheck-health]\nnope = 1\n" + conn, "", file + ": [smtpcheck-health] line 2: nope is not an option of smtpcheck-health"},
		{conn, "--interval 0.5", "--interval must be 0 (off) or at least 1 second"},
		{"[smtpcheck-health]\nmax-age = abc\n" + conn, "", file + ": [smtpcheck-health] --max-age: \"abc\": want seconds (30, 2.5) or a duration (1m)"},
		{"[smtpcheck-health]\nmax-checks = x\n" + conn, "", file + ": [smtpcheck-health] --max-checks: want a whole number, not \"x\""},
		{"[mx\n", "", file + ": line 1: unterminated section header"},
		{conn + "\n" + conn, "", file + ": line 5: section [mx] again (first on line 1): give each its own name"},
	} {
		if err := os.WriteFile(file, []byte(c.ini), 0o600); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"--config", file}, strings.Fields(c.args)...)
		_, err := load(t.Context(), args)
		if err == nil || err.Error() != c.want {
			t.Errorf("%q:\ngot  %v\nwant %s", c.ini, err, c.want)
		}
	}
	// A password in the file: refused when every user can read it.
	if err := os.WriteFile(file, []byte(conn+"authtype = PLAIN\nauthuser = u\nauthpass = "+secret+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t.Context(), []string{"--config", file}); err != nil {
		t.Errorf("mode 640: %v", err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	want := file + ": profile [mx]: authpass is a password written in a file every user can read: chmod o-r " + file + " (root:smtpcheck, mode 640), or use password-ref"
	if _, err := load(t.Context(), []string{"--config", file}); err == nil || err.Error() != want {
		t.Errorf("mode 644:\ngot  %v\nwant %s", err, want)
	}
	if _, err := load(t.Context(), []string{"--config", filepath.Join(dir, "none.ini")}); err == nil || !strings.Contains(err.Error(), "none.ini") {
		t.Errorf("missing file: %v", err)
	}
}

func TestMainFlags(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"-V"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "smtpcheck-health ") {
		t.Errorf("-V: %d %q", code, out.String())
	}
	out.Reset()
	if code := Main([]string{"--help"}, &out, &errOut); code != 0 || !strings.Contains(out.String(), "--max-age") {
		t.Errorf("--help: %d %q", code, out.String())
	}
	errOut.Reset()
	errOut.Reset()
	if code := Main([]string{"--max-checks", "x"}, &out, &errOut); code != 2 || errOut.String() != "smtpcheck-health: --max-checks: want a whole number, not \"x\" (see smtpcheck-health --help)\n" {
		t.Errorf("--max-checks x: %d %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main([]string{"--bogus"}, &out, &errOut); code != 2 || errOut.String() != "smtpcheck-health: unknown flag `bogus' (see smtpcheck-health --help)\n" {
		t.Errorf("--bogus: %d %q", code, errOut.String())
	}
}

// TestPackagedFiles: the config file the package installs loads as it is,
// and its man page (written by packaging/gen) describes every flag.
func TestPackagedFiles(t *testing.T) {
	c, err := load(t.Context(), []string{"--config", "../../packaging/health/health.ini"})
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.Listen != "127.0.0.1:9825" || len(c.checks) != 1 || c.checks[0].name != "local" {
		t.Errorf("%+v %v", c.opts, c.names())
	}
	man, err := os.ReadFile("../../packaging/man/smtpcheck-health.1")
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	p, _ := parseFlags(&o, nil)
	for _, opt := range p.Groups()[0].Options() {
		if want := `\fB\-\-` + strings.ReplaceAll(opt.LongName, "-", `\-`) + `\fR`; !strings.Contains(string(man), want) {
			t.Errorf("the man page does not describe --%s", opt.LongName)
		}
	}
}

// BenchmarkCachedHealth: requests answered from the cache, over HTTP on
// loopback with keep-alive, 8 clients at a time; one SMTP session in all.
func BenchmarkCachedHealth(b *testing.B) {
	srv, sessions := smtptest.StartCounting(b, "tcp", "127.0.0.1:0", smtpOK(0))
	host, port, _ := strings.Cut(srv.Addr, ":")
	file := filepath.Join(b.TempDir(), "health.ini")
	ini := fmt.Sprintf("[smtpcheck-health]\nlisten = 127.0.0.1:0\nmax-age = 3600\nmax-requests = 1024\n[mx]\nplugin = conn\nhostname = %s\nport = %s\n", host, port)
	if err := os.WriteFile(file, []byte(ini), 0o600); err != nil {
		b.Fatal(err)
	}
	sigs, ready, exit := make(chan os.Signal, 1), make(chan string, 1), make(chan int, 1)
	go func() {
		exit <- run([]string{"--config", file}, slog.New(slog.DiscardHandler), sigs, func(a string) { ready <- a })
	}()
	url := "http://" + <-ready + "/health/mx"
	defer func() { sigs <- syscall.SIGTERM; <-exit }()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(8 / max(1, runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	if n := sessions.Load(); n != 1 {
		b.Errorf("%d SMTP sessions", n)
	}
}

// TestInterval: --interval probes in the background, with no request.
func TestInterval(t *testing.T) {
	srv, sessions := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", smtpOK(0))
	startDaemon(t, connProfile("mx", srv.Addr), "--interval", "1", "--max-age", "60")
	for i := 0; sessions.Load() < 2; i++ {
		if i == 100 {
			t.Fatalf("%d background probes in 5 s with --interval 1, want 2 or more", sessions.Load())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBusy: beyond --max-requests, a request is answered 503 at once.
func TestBusy(t *testing.T) {
	srv, _ := smtptest.StartCounting(t, "tcp", "127.0.0.1:0", smtpOK(500*time.Millisecond))
	d := startDaemon(t, connProfile("mx", srv.Addr), "--max-requests", "1")
	first := make(chan int, 1)
	go func() {
		status, _, _ := d.get(t, "GET", "/health/mx")
		first <- status
	}()
	time.Sleep(200 * time.Millisecond) // the first request waits for the probe
	status, body, h := d.get(t, "GET", "/health/mx")
	if r := decode(t, body); status != 503 || h.Get("Retry-After") != "1" || r.Summary != "busy: already serving 1 requests (--max-requests); retry" {
		t.Errorf("%d %v %s", status, h, body)
	}
	if s := <-first; s != 200 {
		t.Errorf("first request: %d", s)
	}
}

// TestBeyondLoopback: a listener on a wildcard or an interface address is
// warned about; a loopback one is not.
func TestBeyondLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9825": false, "127.0.0.5:9825": false, "[::1]:9825": false,
		"0.0.0.0:9825": true, "[::]:9825": true, "192.0.2.2:9825": true, ":9825": true,
	} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := beyondLoopback(a); got != want {
			t.Errorf("beyondLoopback(%s) = %v, want %v", addr, got, want)
		}
	}
	d := startDaemon(t, connProfile("mx", closedAddr(t)))
	if strings.Contains(d.log.String(), "beyond loopback") {
		t.Errorf("a loopback listener was warned about:\n%s", d.log)
	}
}
