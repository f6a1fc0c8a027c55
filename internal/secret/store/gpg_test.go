package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

const (
	gpgPW         = "gpg-s3cret-Aa1"
	gpgPassphrase = "gpg-passphrase-Cc3"
)

// newGPGHome makes a throw-away GnuPG home, short and under /tmp (the
// agent's socket path is limited to about 100 bytes), with one key, its
// passphrase pass (may be empty), and an agent that caches no passphrase.
// It returns the home; GNUPGHOME is not set.
func newGPGHome(t *testing.T, uid, pass string) string {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		secrettest.SkipUnlessReal(t, "gpg not installed (package gnupg)")
	}
	home, err := os.MkdirTemp("/tmp", "gpg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		kill := exec.Command("gpgconf", "--kill", "gpg-agent")
		kill.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = kill.Run()
		os.RemoveAll(home)
	})
	if err := os.WriteFile(filepath.Join(home, "gpg-agent.conf"), []byte("default-cache-ttl 0\nmax-cache-ttl 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gpg(t, home, nil, "--pinentry-mode", "loopback", "--passphrase", pass, "--quick-gen-key", uid, "future-default", "default", "never")
	return home
}

// gpg runs the real gpg in home and returns its output.
func gpg(t *testing.T, home string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--no-tty", "--quiet", "--trust-model", "always"}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
	cmd.Stdin = strings.NewReader(string(stdin))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("gpg %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatal(err)
	}
	return out
}

// encryptTo writes plain, encrypted for uid's key in home, to a mode 600
// file.
func encryptTo(t *testing.T, home, uid, plain string, armor bool) string {
	t.Helper()
	args := []string{"--encrypt", "-r", uid}
	if armor {
		args = append([]string{"--armor"}, args...)
	}
	path := filepath.Join(t.TempDir(), "relay.gpg")
	if err := os.WriteFile(path, gpg(t, home, []byte(plain), args...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGPG(t *testing.T) {
	const uid, other = "smtpcheck gpg <gpg@smtpcheck.invalid>", "someone else <else@smtpcheck.invalid>"
	home := newGPGHome(t, uid, "")
	elsewhere := newGPGHome(t, other, "")
	armored := encryptTo(t, home, uid, gpgPW+"\nuser: mon\n", true)
	binary := encryptTo(t, home, uid, gpgPW+"\r\n", false)
	foreign := encryptTo(t, elsewhere, other, gpgPW+"\n", true)
	data, _ := os.ReadFile(armored)
	corrupt := secrettest.WriteFile(t, "corrupt.asc", strings.Replace(string(data), "\n\n", "\n\nAAAA", 1)[:len(data)/2], 0o600)
	garbage := secrettest.WriteFile(t, "plain.txt", "not encrypted at all\n", 0o600)
	open := filepath.Join(t.TempDir(), "open.asc")
	if err := os.WriteFile(open, data, 0o640); err != nil {
		t.Fatal(err)
	}
	empty := encryptTo(t, home, uid, "\nsecond\n", true)
	bomb := encryptTo(t, home, uid, gpgPW+"\n"+strings.Repeat("\x00", 20<<20), false) // compresses to about 20 KiB
	t.Setenv("GNUPGHOME", home)

	o := secret.Options{Store: Read}
	ctx := secrettest.Ctx(t)
	for _, p := range []string{armored, binary} {
		if got, err := o.Resolve(ctx, "gpg:"+p); err != nil || got != gpgPW {
			t.Fatalf("%s: %q, %v", p, got, err)
		}
	}
	for _, c := range []struct {
		path, want string
		notFound   bool
	}{
		{foreign, "gpg: " + foreign + ": no secret key for it in this user's keyring (GNUPGHOME \"" + home + "\"): it was encrypted for another key; encrypt it again with gpg -r for this user's key", false},
		{corrupt, "gpg: " + corrupt + ": not a valid gpg-encrypted file (corrupted?): ", false},
		{garbage, "gpg: " + garbage + ": not a valid gpg-encrypted file (corrupted?): gpg found \"no valid OpenPGP data found\"", false},
		{open, "gpg: " + open + ": mode 0640 lets group or others read or write it; run: chmod 600 " + open, false},
		{empty, "gpg: " + empty + ": the first line of the plain text is empty", true},
		{bomb, "gpg: " + bomb + ": the plain text is over 64 KiB (gpg stopped): a secret is one line", false},
		{"/nonexistent/relay.asc", "gpg: /nonexistent/relay.asc: ", true},
	} {
		_, err := o.Resolve(ctx, "gpg:"+c.path)
		secrettest.CheckErr(t, err, c.want, gpgPW, "second")
		if !strings.HasSuffix(c.want, ": ") && err.Error() != c.want {
			t.Errorf("error\n got  %s\n want %s", err, c.want)
		}
		if errors.Is(err, secret.ErrNotFound) != c.notFound {
			t.Errorf("%s: ErrNotFound %v, want %v", err, !c.notFound, c.notFound)
		}
		t.Logf("%s", err)
	}
	_, err := o.Resolve(ctx, "gpg:relative/path.asc")
	secrettest.CheckErr(t, err, "gpg: the path must be absolute")
}

// TestGPGPassphrase: a key with a passphrase, given by reference (through
// a pipe to gpg, never its argv), wrong, or not given; the agent caches
// none, so each case asks for it.
func TestGPGPassphrase(t *testing.T) {
	const uid = "smtpcheck locked <locked@smtpcheck.invalid>"
	home := newGPGHome(t, uid, gpgPassphrase)
	file := encryptTo(t, home, uid, gpgPW+"\n", true)
	t.Setenv("GNUPGHOME", home)
	t.Setenv("GPG_PW", gpgPassphrase)
	t.Setenv("GPG_WRONG", "not-"+gpgPassphrase)
	ctx := secrettest.Ctx(t)
	for _, c := range []struct{ ref, want string }{
		{"", "gpg: " + file + ": the key has a passphrase and none was given: add --gpg-passphrase-ref (env:, file:, ...), or unlock it in gpg-agent"},
		{"env:GPG_WRONG", "gpg: " + file + ": wrong passphrase for the key (--gpg-passphrase-ref)"},
		{"env:GPG_NOT_SET", "--gpg-passphrase-ref: env: GPG_NOT_SET: variable not set"},
		{"gpg:" + file, "gpg: " + file + ": --gpg-passphrase-ref cannot be a gpg: reference itself"},
		{"env:GPG_PW", ""},
	} {
		o := secret.Options{Store: Read, GPGPassphrase: c.ref}
		got, err := o.Resolve(ctx, "gpg:"+file)
		if c.want == "" {
			if err != nil || got != gpgPW {
				t.Fatalf("%s: %q, %v", c.ref, got, err)
			}
			continue
		}
		secrettest.CheckErr(t, err, c.want, gpgPW, gpgPassphrase)
		if err.Error() != c.want {
			t.Errorf("error\n got  %s\n want %s", err, c.want)
		}
	}
}

// TestGPGNoAgent: gpg cannot start its agent (gone, or not installed).
func TestGPGNoAgent(t *testing.T) {
	const uid = "smtpcheck noagent <noagent@smtpcheck.invalid>"
	home := newGPGHome(t, uid, "")
	file := encryptTo(t, home, uid, gpgPW+"\n", true)
	kill := exec.Command("gpgconf", "--kill", "gpg-agent")
	kill.Env = append(os.Environ(), "GNUPGHOME="+home)
	if out, err := kill.CombinedOutput(); err != nil {
		t.Fatalf("gpgconf --kill: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(home, "gpg.conf"), []byte("agent-program /nonexistent/gpg-agent\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GNUPGHOME", home)
	_, err := (&secret.Options{Store: Read}).Resolve(secrettest.Ctx(t), "gpg:"+file)
	secrettest.CheckErr(t, err, "gpg: "+file+": gpg-agent is not available, and gpg cannot decrypt without it (", gpgPW)
	t.Logf("%s", err)
}

// TestGPGDeadline: a gpg that hangs (and what it started) is killed at
// the deadline.
func TestGPGDeadline(t *testing.T) {
	dir := scriptDir(t)
	hang := writeScript(t, dir, "gpg", "echo 'gpg: waiting for lock' >&2\nsleep 30 &\nwait\n")
	was := gpgProgram
	gpgProgram = hang
	t.Cleanup(func() { gpgProgram = was })
	file := secrettest.WriteFile(t, "relay.asc", "whatever\n", 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&secret.Options{Store: Read}).Resolve(ctx, "gpg:"+file)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ended after %v, the deadline was 500ms", d)
	}
	want := "gpg: " + file + ": gpg --decrypt: no answer within the plugin's timeout (-t) (gpg said: \"waiting for lock\")"
	secrettest.CheckErr(t, err, want)
	if err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v", err)
	}
}
