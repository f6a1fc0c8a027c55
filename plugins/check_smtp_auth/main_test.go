package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary runs the real binary through a check that reads a secret:
// the password never shows and no dbus-launch is spawned (keyring's init
// talks to D-Bus). plugins/binaries_test.go covers -V and what it links.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "check_smtp_auth")
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-X github.com/smtpcheck/smtpcheck/internal/plugin.Version=v9.8.7", ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	// A dbus-launch that leaves a mark, first in PATH; no session bus.
	marker := filepath.Join(dir, "dbus-launch-ran")
	fake := filepath.Join(dir, "dbus-launch")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pass := filepath.Join(dir, "pass")
	if err := os.WriteFile(pass, []byte("s3cret-Pass-42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + dir + ":/usr/bin:/bin", "HOME=" + dir}
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.Output()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			return string(out), ee.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		return string(out), 0
	}

	out, code := run("-H", "127.0.0.1", "-p", "1", "-t", "2", "--user", "mon@lab.test", "--password-ref", "file:"+pass)
	if code != 2 || !strings.HasPrefix(out, "SMTP AUTH CRITICAL - connect: connection refused (127.0.0.1:1)") {
		t.Errorf("exit %d, %q", code, out)
	}
	if strings.Contains(out, "s3cret-Pass-42") {
		t.Errorf("password in the output: %q", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("dbus-launch was spawned")
	}
}
