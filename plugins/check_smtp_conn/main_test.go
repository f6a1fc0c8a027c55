package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary builds the real binary the way the Makefile does and checks
// what it links, its version stamp and its exit code for -V.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "check_smtp_conn")
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-X github.com/smtpcheck/smtpcheck/internal/plugin.Version=v9.8.7", ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}

	mods, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	// Secrets are check_smtp_auth's business; this plugin must stay lean.
	for _, heavy := range []string{"github.com/hashicorp/vault", "github.com/99designs/keyring", "github.com/godbus/dbus"} {
		if strings.Contains(string(mods), heavy) {
			t.Errorf("check_smtp_conn links %s", heavy)
		}
	}
	if !strings.Contains(string(mods), "github.com/atc0005/go-nagios") {
		t.Errorf("go version -m shows no dependencies at all:\n%s", mods)
	}

	out, err := exec.Command(bin, "-V").Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || string(out) != "check_smtp_conn v9.8.7\n" {
		t.Errorf("-V: %q, %v", out, err)
	}
}
