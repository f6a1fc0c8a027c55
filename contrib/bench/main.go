// Command bench compares check_smtp_conn with monitoring-plugins'
// check_smtp on the same local lab server: wall time and peak RSS per run,
// interleaved so that drift on the machine hits both plugins alike.
//
// With -mode tls it instead compares a full TLS audit by check_smtp_tls
// (chain, names, expiry of every element, --scan-versions) with
// check_ssl_cert (monitoring-plugins-contrib) doing its certificate checks
// on the same server, and with check_smtp -S -D 30; see tls.go. With
// -mode auth it compares check_smtp_auth with check_smtp -A LOGIN on a real
// submission server; see auth.go. With -mode delivery it compares a full
// round trip (submit, find over IMAPS, clean up) by check_smtp_delivery
// with check_email_delivery (monitoring-plugins-contrib) on a real Postfix
// + Dovecot, and the SMTP round trips of our submission with swaks
// --pipeline's; see delivery.go. With -mode load it compares
// check_smtp_load's messages per second with Postfix's smtp-source against
// one smtp-sink; see load.go. With -mode floor it compares each plugin
// with the least a Go SMTP check does (contrib/bench/floor) on the same
// server, for issue 17's start-up targets; see floor.go.
//
// Peak RSS comes from wait4's ru_maxrss, which has a floor: Go starts
// children with CLONE_VM|CLONE_VFORK, and at exec Linux folds the old mm's
// (the bench's) RSS high-water mark into the child's maxrss. The bench keeps
// its own heap small and marks any median that sits at or below its VmHWM.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	wallTarget = 1.00 // ours/reference median wall time
	rssTarget  = 8.0  // MiB, our worst peak RSS
)

type scenario struct {
	name      string
	ours, ref []string // arguments after the binary
}

// side collects one plugin's samples in one scenario; failed runs are
// counted, not sampled, so an early error cannot flatter the timings.
type side struct {
	wall, rss []float64 // ms, MiB
	fails     int
	lastErr   string
	judged    bool   // exit codes 1 and 2 are verdicts, not failures (tls mode)
	version   bool   // -V: plugins exit 3 (UNKNOWN) after the version, as check_smtp does
	status    string // the last status line of a counted run, when judged
}

func main() {
	plugin := flag.String("plugin", "bin/check_smtp_conn", "our plugin")
	lab := flag.String("lab", "bin/smtpcheck-lab", "lab server binary")
	ref := flag.String("ref", "/usr/lib/nagios/plugins/check_smtp", "reference plugin")
	n := flag.Int("n", 200, "measured rounds per scenario")
	maxTime := flag.Duration("max-time", 60*time.Second, "time budget for all measured rounds")
	warmup := flag.Int("warmup", 10, "unmeasured rounds per scenario")
	mode := flag.String("mode", "conn", "conn: check_smtp_conn vs check_smtp on the lab; tls: check_smtp_tls vs check_ssl_cert and check_smtp on -target; auth: check_smtp_auth vs check_smtp -A LOGIN on -target; delivery: check_smtp_delivery vs check_email_delivery on -target and -imap; load: check_smtp_load vs smtp-source; floor: every plugin vs the least a Go SMTP check does, on -target and -submission (default: the lab)")
	target := flag.String("target", "127.0.0.1:25", "tls, auth and delivery modes: the STARTTLS server (HOST:PORT; auth and delivery default 127.0.0.1:587)")
	ca := flag.String("ca", "", "tls, auth and delivery modes: the CA file the server's chain leads to")
	name := flag.String("name", "", "tls, auth and delivery modes: the name the certificate must carry (check_smtp_tls --verify-name, check_ssl_cert -m); default: the target's host")
	sslCert := flag.String("ssl-cert", "/usr/lib/nagios/plugins/check_ssl_cert", "tls mode: check_ssl_cert")
	user := flag.String("user", "", "auth and delivery modes: the user to log in as (delivery: also the recipient)")
	pwFile := flag.String("password-file", "", "auth and delivery modes: a chmod 600 file holding the password")
	conn := flag.String("conn", "bin/check_smtp_conn", "auth mode: check_smtp_conn, run with check_smtp's flags")
	imapAddr := flag.String("imap", "127.0.0.1:993", "delivery mode: the IMAPS server where the user's mail lands (HOST:PORT)")
	swaks := flag.String("swaks", "swaks", "delivery mode: swaks, for the round-trip count")
	sink := flag.String("sink", "bench-sink@example.net", "delivery mode: a recipient the server accepts and discards (round-trip count)")
	also := flag.String("also", "", "conn mode: also compare plain and STARTTLS checks against this server (HOST:PORT, e.g. a local Postfix)")
	source := flag.String("smtp-source", "/usr/sbin/smtp-source", "load mode: Postfix's smtp-source")
	smtpSink := flag.String("smtp-sink", "/usr/sbin/smtp-sink", "load mode: Postfix's smtp-sink, the server both load")
	loadMessages := flag.Int("messages", 10000, "load mode: messages per run")
	loadSessions := flag.Int("sessions", 10, "load mode: sessions at once")
	loadSize := flag.Int("size", 1000, "load mode: message size in bytes")
	binDir := flag.String("bin", "bin", "floor mode: the directory of the plugins and smtpcheck-floor, built alike")
	submission := flag.String("submission", "127.0.0.1:587", "floor mode: the submission server for the AUTH LOGIN row (HOST:PORT)")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *mode == "tls" {
		// check_ssl_cert takes seconds per run: fewer rounds unless asked.
		if !set["n"] {
			*n = 15
		}
		if !set["warmup"] {
			*warmup = 1
		}
		if !set["max-time"] {
			*maxTime = 150 * time.Second
		}
		if !set["plugin"] {
			*plugin = "bin/check_smtp_tls"
		}
		if err := runTLS(*plugin, *sslCert, *ref, *target, *ca, *name, *n, *warmup, *maxTime); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *mode == "auth" {
		if !set["plugin"] {
			*plugin = "bin/check_smtp_auth"
		}
		if !set["target"] {
			*target = "127.0.0.1:587"
		}
		if err := runAuth(*plugin, *conn, *ref, *target, *ca, *name, *user, *pwFile, *n, *warmup, *maxTime); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *mode == "delivery" {
		deliveryDefaults(set, n, warmup, maxTime, plugin, ref, target)
		b := deliveryBench{ours: *plugin, ref: *ref, swaks: *swaks, target: *target, imap: *imapAddr,
			ca: *ca, name: *name, user: *user, pwFile: *pwFile, sink: *sink}
		if err := runDelivery(b, *n, *warmup, *maxTime); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *mode == "load" {
		if !set["plugin"] {
			*plugin = "bin/check_smtp_load"
		}
		if !set["n"] {
			*n = 5
		}
		b := loadBench{ours: *plugin, source: *source, sink: *smtpSink, messages: *loadMessages, sessions: *loadSessions, size: *loadSize}
		if err := runLoad(b, *n, *maxTime); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *mode == "floor" {
		if !set["n"] {
			*n = 60
		}
		if !set["max-time"] {
			*maxTime = 150 * time.Second
		}
		b := floorBench{bin: *binDir, checkSMTP: *ref, submission: *submission,
			ca: *ca, name: *name, user: *user, pass: *pwFile}
		if set["target"] {
			b.smtp = *target
		}
		if err := runFloor(b, *lab, *n, *warmup, *maxTime); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *mode != "conn" {
		fmt.Fprintf(os.Stderr, "bench: -mode %q: want conn, tls, auth, delivery, load or floor\n", *mode)
		os.Exit(2)
	}
	if err := run(*plugin, *lab, *ref, *also, *n, *warmup, *maxTime); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(plugin, labBin, ref, also string, n, warmup int, maxTime time.Duration) error {
	env, stop, err := startLab(labBin)
	if err != nil {
		return err
	}
	defer stop()
	pw, err := os.ReadFile(env["LAB_PASSWORD_FILE"])
	if err != nil {
		return err
	}
	// Both plugins take the same options for these checks.
	plain := []string{"-H", "127.0.0.1", "-p", env["LAB_PLAIN_PORT"]}
	tls := append(slices.Clone(plain), "-S")
	auth := []string{"-H", "127.0.0.1", "-p", env["LAB_SUBMISSION_PORT"],
		"-S", "-A", "LOGIN", "-U", env["LAB_USER"], "-P", strings.TrimSpace(string(pw))}
	// Ours verifies the certificate before it sends credentials (check_smtp
	// does not look): it gets the lab's CA, and does that work in the bench.
	oursAuth := append(slices.Clone(auth), "--ca-file", env["LAB_CA"])
	scenarios := []scenario{{"plain", plain, plain}, {"starttls", tls, tls}, {"starttls+auth", oursAuth, auth}}
	if host, port, ok := strings.Cut(also, ":"); ok {
		// A real MTA answers differently from the lab's go-smtp (no Nagle
		// stall for check_smtp after STARTTLS), so it is worth its own rows.
		p := []string{"-H", host, "-p", port}
		s := append(slices.Clone(p), "-S")
		scenarios = append(scenarios, scenario{"plain@" + also, p, p}, scenario{"starttls@" + also, s, s})
	}

	fmt.Printf("%-22s %5s  %-18s %-24s %-10s  %-12s  %-18s  %s\n", "scenario", "runs",
		"ours ms (p50/p90)", "check_smtp ms (p50/p90)", "wall ratio", "ours RSS MiB", "check_smtp RSS MiB", "RSS ratio")
	worstWall, worstRSS, ratios, floored, oursOK := 0.0, 0.0, 0, 0.0, true
	for _, sc := range scenarios {
		var ours, theirs side
		for i := range warmup {
			measure(plugin, sc.ours, nil, i)
			measure(ref, sc.ref, nil, i)
		}
		// Split the budget so that a slow scenario cannot starve the later ones.
		deadline := time.Now().Add(maxTime / time.Duration(len(scenarios)))
		rounds := 0
		for ; rounds < n && time.Now().Before(deadline); rounds++ {
			// Alternate who goes first to cancel warm-cache and order effects.
			first, second := func() { measure(plugin, sc.ours, &ours, rounds) }, func() { measure(ref, sc.ref, &theirs, rounds) }
			if rounds%2 == 1 {
				first, second = second, first
			}
			first()
			second()
		}
		fmt.Printf("%-22s %5d  %-18s %-24s ", sc.name, rounds, pair(ours.wall), pair(theirs.wall))
		if ours.fails > 0 || len(ours.wall) == 0 {
			oursOK = false
			fmt.Printf("ours FAILED %d/%d: %s\n", ours.fails, rounds, ours.lastErr)
			continue
		}
		worstRSS = max(worstRSS, slices.Max(ours.rss))
		if theirs.fails > 0 || len(theirs.wall) == 0 {
			// No ratio against a reference that did not do the job.
			fmt.Printf("check_smtp FAILED %d/%d: %s\n", theirs.fails, rounds, theirs.lastErr)
			continue
		}
		// The high-water mark only grows, so now bounds every spawn above.
		floor := selfHWM()
		cell := func(v float64) string {
			if v > floor {
				return fmt.Sprintf("%.2f", v)
			}
			floored = floor
			return fmt.Sprintf("%.2f*", v)
		}
		wr, rr := pct(ours.wall, 50)/pct(theirs.wall, 50), pct(ours.rss, 50)/pct(theirs.rss, 50)
		fmt.Printf("%-10.2f  %-12s  %-18s  %.2f\n", wr, cell(pct(ours.rss, 50)), cell(pct(theirs.rss, 50)), rr)
		worstWall, ratios = max(worstWall, wr), ratios+1
	}
	if floored > 0 {
		fmt.Printf("* at or below the bench's own peak RSS (%.2f MiB), which no child can read below: may really be lower\n", floored)
	}
	wallVerdict := fmt.Sprintf("%s (worst %.2f×)", verdict(worstWall <= wallTarget && oursOK), worstWall)
	if ratios == 0 {
		wallVerdict = "n/a" // nothing to compare against
	}
	fmt.Printf("\ntargets: median wall ratio ≤ %.2f× %s; ours peak RSS ≤ %.0f MiB %s (worst run %.2f MiB)\n",
		wallTarget, wallVerdict, rssTarget, verdict(worstRSS <= rssTarget && oursOK), worstRSS)
	if !oursOK {
		return errors.New("our plugin failed")
	}
	return nil
}

// measure runs bin once and, unless s is nil (warm-up), records it.
func measure(bin string, args []string, s *side, round int) {
	// A hung plugin must not hang the bench; both plugins default to 10 s.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	// Keep the bench's heap, and so the children's RSS floor, from growing
	// between collections; this happens outside the timed span.
	runtime.GC()
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if s == nil {
		return
	}
	var ee *exec.ExitError
	if s.judged && errors.As(err, &ee) && (ee.ExitCode() == 1 || ee.ExitCode() == 2) {
		err = nil
	}
	if s.version && errors.As(err, &ee) && ee.ExitCode() == 3 {
		err = nil
	}
	if s.judged {
		s.status, _, _ = strings.Cut(strings.TrimSpace(out.String()), "\n")
	}
	if err != nil {
		s.fails++
		first, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
		s.lastErr = strings.TrimSuffix(fmt.Sprintf("round %d: %v: %s", round+1, err, first), ": ")
		return
	}
	s.wall = append(s.wall, float64(wall.Microseconds())/1000)
	s.rss = append(s.rss, float64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)/1024) // KiB on Linux
}

// selfHWM returns this process's VmHWM in MiB. Not getrusage(RUSAGE_SELF):
// that includes the peak of whatever exec'd us (go run's, when run that way).
func selfHWM() float64 {
	st, _ := os.ReadFile("/proc/self/status")
	_, v, _ := strings.Cut(string(st), "VmHWM:")
	kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.Fields(v + " 0")[0], "kB"), 64)
	return kb / 1024
}

// startLab runs the lab server in a directory of its own and waits for its
// lab.env. stop terminates it, waits, and removes the directory, so no
// server outlives the bench.
func startLab(bin string) (map[string]string, func(), error) {
	dir, err := os.MkdirTemp("", "smtpcheck-bench-")
	if err != nil {
		return nil, nil, err
	}
	env, stop, err := runLab(bin, dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return env, func() { stop(); os.RemoveAll(dir) }, nil
}

// runLab runs the lab server in dir and waits for its lab.env.
func runLab(bin, dir string) (map[string]string, func(), error) {
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-dir", dir)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		// lab writes lab.env atomically, so a readable file is complete.
		if data, err := os.ReadFile(filepath.Join(dir, "lab.env")); err == nil {
			env := map[string]string{}
			for _, line := range strings.Split(string(data), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					env[k] = v
				}
			}
			return env, stop, nil
		}
		select {
		case <-exited:
			return nil, nil, fmt.Errorf("lab exited early (%s): %s", cmd.ProcessState, strings.TrimSpace(logs.String()))
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	return nil, nil, errors.New("lab not ready after 10 s")
}

// pct returns the p-th percentile by nearest rank.
func pct(xs []float64, p int) float64 {
	s := slices.Sorted(slices.Values(xs))
	return s[max(0, (p*len(s)+99)/100-1)]
}

func pair(ms []float64) string {
	if len(ms) == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f / %.2f", pct(ms, 50), pct(ms, 90))
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}
