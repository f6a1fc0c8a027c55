package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// loadTarget is issue 14's: at least smtp-source's messages per second.
const loadTarget = 1.0

// loadBench is what -mode load needs: our plugin, Postfix's smtp-source
// and smtp-sink (which accepts and discards: no queue, no disk).
type loadBench struct {
	ours, source, sink string
	messages, sessions int
	size               int
}

// loadSide is one program's rounds in one scenario.
type loadSide struct {
	rate, cpu []float64 // msgs/s, µs of CPU per message
	fails     int
	lastErr   string
}

// runLoad runs check_smtp_load and smtp-source interleaved against one
// smtp-sink on loopback, with the same sessions, message count and size,
// in both of smtp-source's modes: a new connection per message, and
// sessions reused (-d; ours --per-session), and reports the ratio of
// messages per second and the CPU time per message of each.
func runLoad(b loadBench, n int, maxTime time.Duration) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{addr, "1024"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	sink := exec.Command(b.sink, args...)
	if err := sink.Start(); err != nil {
		return fmt.Errorf("smtp-sink: %v", err)
	}
	defer func() { _ = sink.Process.Kill(); _ = sink.Wait() }()
	if err := waitListen(addr); err != nil {
		return err
	}
	host, port, _ := net.SplitHostPort(addr)
	m, s := strconv.Itoa(b.messages), strconv.Itoa(b.sessions)
	common := []string{"-H", host, "-p", port, "--to", "sink@load.test", "--from", "bench@load.test", "--messages", m, "--sessions", s,
		"--size", strconv.Itoa(b.size), "--duration", "40", "-t", "45", "--warning-errors", "~:", "--no-progress"}
	src := []string{"-s", s, "-m", m, "-l", strconv.Itoa(b.size), "-f", "bench@load.test", "-t", "sink@load.test"}
	scenarios := []struct {
		name      string
		ours, ref []string
	}{
		{"new connection per message", append(slices.Clone(common), "--per-session", "1"), append(slices.Clone(src), addr)},
		{"sessions reused (-d)", append(slices.Clone(common), "--per-session", m), append(slices.Clone(src), "-d", addr)},
	}
	fmt.Printf("check_smtp_load vs smtp-source against smtp-sink on %s: %d messages of %d bytes, %d sessions, %d rounds each, interleaved\n",
		addr, b.messages, b.size, b.sessions, n)
	ok := true
	for _, sc := range scenarios {
		deadline := time.Now().Add(maxTime / time.Duration(len(scenarios)))
		var ours, ref loadSide
		for round := 0; round < n && time.Now().Before(deadline); round++ {
			first, second := func() { loadRound(b.ours, sc.ours, b.messages, &ours) }, func() { loadRound(b.source, sc.ref, b.messages, &ref) }
			if round%2 == 1 {
				first, second = second, first
			}
			first()
			second()
		}
		ratio := median(ours.rate) / median(ref.rate)
		fmt.Printf("  %-28s ours %8.0f msgs/s (%5.1f µs CPU/msg)  smtp-source %8.0f msgs/s (%5.1f µs CPU/msg)  ratio %.2fx (target >= %.1fx) %s\n",
			sc.name, median(ours.rate), median(ours.cpu), median(ref.rate), median(ref.cpu), ratio, loadTarget, verdict(ratio >= loadTarget))
		for _, x := range []struct {
			who string
			s   loadSide
		}{{"ours", ours}, {"smtp-source", ref}} {
			if x.s.fails > 0 {
				fmt.Printf("    %s: %d failed rounds, last: %s\n", x.who, x.s.fails, x.s.lastErr)
			}
		}
		ok = ok && ratio >= loadTarget && ours.fails == 0
	}
	if !ok {
		return errors.New("check_smtp_load is below its target")
	}
	return nil
}

// loadRound runs one program once and records its rate and CPU per message.
func loadRound(bin string, args []string, messages int, s *loadSide) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		s.fails++
		s.lastErr = fmt.Sprintf("%v: %.200s", err, out.String())
		return
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	s.rate = append(s.rate, float64(messages)/wall.Seconds())
	s.cpu = append(s.cpu, float64(cpu.Microseconds())/float64(messages))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	ys := slices.Clone(xs)
	slices.Sort(ys)
	return ys[len(ys)/2]
}

// waitListen waits for a server to accept connections on addr.
func waitListen(addr string) error {
	for range 50 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s", addr)
}
