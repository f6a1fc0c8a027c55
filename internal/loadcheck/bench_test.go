package loadcheck

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// BenchmarkReusedSessions measures the reused-session path (smtp-source
// -d's mode) against Postfix's smtp-sink, the bench's server: one op is
// one message; allocations per message are reported.
func BenchmarkReusedSessions(b *testing.B) {
	const sinkBin = "/usr/sbin/smtp-sink"
	if _, err := os.Stat(sinkBin); err != nil {
		b.Skip("no Postfix smtp-sink")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{addr, "1024"}
	if os.Geteuid() == 0 {
		args = append([]string{"-u", "nobody"}, args...)
	}
	sink := exec.Command(sinkBin, args...)
	if err := sink.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = sink.Process.Kill(); _ = sink.Wait() }()
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		} else if i > 100 {
			b.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	host, port, _ := net.SplitHostPort(addr)
	b.ReportAllocs()
	b.ResetTimer()
	out := run(b, "-H", host, "-p", port, "--to", "sink@load.test", "--from", "bench@load.test", "--messages", strconv.Itoa(b.N),
		"--sessions", "10", "--per-session", strconv.Itoa(b.N), "--size", "1000", "--duration", "40", "-t", "45", "--no-progress")
	b.StopTimer()
	if out.Code != 0 {
		b.Fatalf("exit %d:\n%s", out.Code, out.Out)
	}
}
