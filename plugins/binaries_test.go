// Package plugins holds no code: its test builds every plugin the way the
// Makefile does and checks what the real binaries link and print.
package plugins

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// secretReaders are the programs allowed to link Vault and keyring: only
// the helper that plugins run for vault: and keyring: references. Every
// plugin stays lean (DESIGN: don't drag weight into binaries); for
// check_smtp_auth they cost about 3 ms of start-up on every run.
var secretReaders = map[string]bool{"smtpcheck-secret": true, "smtpcheck-secret-cloud": true}

// cloudReaders are the programs allowed to link the AWS and Azure SDKs:
// only the one smtpcheck-secret runs for aws-sm: and azure-kv:, so that
// neither the plugins nor a keyring: or vault: read pay their start-up.
var cloudReaders = map[string]bool{"smtpcheck-secret-cloud": true}

var cloudSDKs = []string{"github.com/aws/aws-sdk-go-v2", "github.com/Azure/azure-sdk-for-go/sdk/azidentity", "github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"}

// daemons are programs no engine runs: -V exits 0, as the helper's does.
// smtpcheck-health runs the plugins in-process and reads vault: and
// keyring: references through the helper beside it, as they do.
var daemons = map[string]bool{"smtpcheck-health": true}

var heavy = []string{"github.com/hashicorp/vault/api", "github.com/99designs/keyring", "github.com/godbus/dbus"}

// forbidden are modules no program here may link. xdg-go/stringprep builds
// RFC 3454's tables as maps at every start (136 KB, 2,244 allocations, up
// to 1 ms), SCRAM or not: internal/sasl and internal/saslprep replace
// xdg-go/scram, which stays a test-only reference peer (issue 17).
// miekg/dns costs 600 KB of binary and 0.2 ms of package init at every start:
// internal/maildns asks with x/net's dnsmessage, and miekg/dns stays the
// tests' DNS server (internal/dnstest).
var forbidden = []string{"github.com/xdg-go/", "github.com/miekg/dns"}

// buildPlugin builds ./name into dir the way the Makefile's GOBUILD does
// (static, -trimpath, stripped), with version v9.8.7, and returns its path.
func buildPlugin(t *testing.T, dir, name string) string {
	t.Helper()
	bin := filepath.Join(dir, name)
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-s -w -X github.com/smtpcheck/smtpcheck/internal/plugin.Version=v9.8.7", "./"+name)
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every plugin")
	}
	names, err := filepath.Glob("check_smtp_*")
	if err != nil || len(names) < 3 {
		t.Fatalf("plugins found: %v %v", names, err)
	}
	names = append(names, "smtpcheck-secret", "smtpcheck-secret-cloud", "smtpcheck-health")
	dir := t.TempDir()
	// A dbus-launch that leaves a mark, first on PATH, and no session bus:
	// keyring's package init must never reach for it.
	marker := filepath.Join(dir, "dbus-launch-ran")
	if err := os.WriteFile(filepath.Join(dir, "dbus-launch"), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			bin := buildPlugin(t, dir, name)
			checkHelp(t, bin, name)

			mods, err := exec.Command("go", "version", "-m", bin).Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range heavy[:2] {
				if linked := strings.Contains(string(mods), h); linked != (secretReaders[name] && !cloudReaders[name]) {
					t.Errorf("links %s: %v, want %v", h, linked, !linked)
				}
			}
			for _, h := range cloudSDKs {
				if linked := strings.Contains(string(mods), h); linked != cloudReaders[name] {
					t.Errorf("links %s: %v, want %v", h, linked, cloudReaders[name])
				}
			}
			if !secretReaders[name] && strings.Contains(string(mods), heavy[2]) {
				t.Errorf("links %s", heavy[2])
			}
			for _, f := range forbidden {
				if strings.Contains(string(mods), f) {
					t.Errorf("links %s", f)
				}
			}
			// No plugin links net/http (about 1 MB and half a MiB of peak
			// RSS): the MTA-STS policy is fetched with internal/httpsget.
			// go version -m lists modules only, so the packages are asked.
			if strings.HasPrefix(name, "check_smtp_") {
				list := exec.Command("go", "list", "-deps", "./"+name)
				list.Env = append(list.Environ(), "CGO_ENABLED=0")
				deps, err := list.Output()
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range strings.Fields(string(deps)) {
					if p == "net/http" || strings.HasPrefix(p, "net/http/") {
						t.Errorf("links %s", p)
					}
				}
			}

			// Every binary prints the stamped version after every package
			// init has run; a plugin exits 3 as monitoring-plugins do, the
			// helper, which no engine runs, 0.
			cmd := exec.Command(bin, "-V")
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "HOME=" + dir, "XDG_RUNTIME_DIR=" + dir}
			out, err := cmd.Output()
			var ee *exec.ExitError
			if secretReaders[name] || daemons[name] {
				if err != nil || string(out) != name+" v9.8.7\n" {
					t.Errorf("-V: %q, %v", out, err)
				}
			} else if !errors.As(err, &ee) || ee.ExitCode() != 3 || string(out) != name+" v9.8.7\n" {
				t.Errorf("-V: %q, %v", out, err)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("dbus-launch was spawned")
			}
		})
	}

	// check_smtp_auth finds the helper beside its real path, through a
	// symbolic link too, and says where it looked when it is missing. The
	// reference fails before any connection, so no server is needed.
	t.Run("helper beside the plugin", func(t *testing.T) {
		linked, alone := t.TempDir(), t.TempDir()
		if err := os.Symlink(filepath.Join(dir, "check_smtp_auth"), filepath.Join(linked, "check_smtp_auth")); err != nil {
			t.Fatal(err)
		}
		plugin, err := os.ReadFile(filepath.Join(dir, "check_smtp_auth"))
		if err == nil {
			err = os.WriteFile(filepath.Join(alone, "check_smtp_auth"), plugin, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		missing := filepath.Join(dir, "no-such-dir")
		for _, c := range []struct{ dir, want string }{
			{linked, "SMTP AUTH UNKNOWN - secret: --password-ref: keyring: svc/key (backend file): --keyring-dir " + missing + " is not a directory"},
			{alone, "SMTP AUTH UNKNOWN - secret: --password-ref: keyring: svc/key: smtpcheck-secret, which reads vault: and keyring: references and OAuth tokens, is not installed as " +
				filepath.Join(alone, "smtpcheck-secret") + " (it belongs beside the plugins; reinstall smtpcheck, or use env: or file:)"},
		} {
			out, err := exec.Command(filepath.Join(c.dir, "check_smtp_auth"), "-H", "127.0.0.1", "-p", "1", "--user", "u",
				"--password-ref", "keyring:svc/key", "--keyring-backend", "file", "--keyring-dir", missing, "--keyring-passphrase-ref", "env:X").Output()
			status, _, _ := strings.Cut(string(out), " | ")
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 || status != c.want {
				t.Errorf("%v:\ngot  %s\nwant %s", err, status, c.want)
			}
		}
	})
}
