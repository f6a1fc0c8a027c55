package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// gpgProgram is the gpg that decrypts gpg: files (tests may point it
// elsewhere).
var gpgProgram = "gpg"

// readGPG is gpg:PATH: a file taken as file: takes one (regular, private,
// size-capped), decrypted by the real gpg with the user's keys (GNUPGHOME)
// and the first line of the plain text returned. gpg never prompts: batch
// mode, no terminal, loopback pinentry; a passphrase comes from
// --gpg-passphrase-ref through a pipe (--passphrase-fd), never argv or the
// environment. gpg and whatever it starts in its group are killed at the
// deadline; a gpg-agent it starts detaches, as it always does.
func (o opts) readGPG(ctx context.Context, path string) (string, error) {
	data, err := secret.ReadPrivateBytes(ctx, "gpg", path, "")
	if err != nil {
		return "", err
	}
	bin, err := exec.LookPath(gpgProgram)
	if err != nil {
		return "", secret.Fail("gpg", path+": gpg is not installed (Debian: apt install gnupg)", err)
	}
	// Not --quiet: it hides "Bad passphrase", which tells a wrong
	// passphrase from a key that is not there.
	args := []string{"--batch", "--no-tty", "--pinentry-mode", "loopback", "--decrypt"}
	// gpg quotes what it cannot parse (an armor header, a line): nothing
	// of the file, nor the passphrase, may reach a message through it.
	var scrub redact.Set
	for l := range strings.Lines(string(data)) {
		scrub.Add(strings.TrimSpace(l))
	}
	var pass *os.File
	if o.GPGPassphrase != "" {
		if strings.HasPrefix(o.GPGPassphrase, "gpg:") {
			return "", secret.Fail("gpg", path+": --gpg-passphrase-ref cannot be a gpg: reference itself", nil)
		}
		pw, err := o.resolve(ctx, "--gpg-passphrase-ref", o.GPGPassphrase)
		if err != nil {
			return "", err
		}
		scrub.Add(pw)
		r, w, err := os.Pipe()
		if err != nil {
			return "", secret.Fail("gpg", path+": "+err.Error(), err)
		}
		defer r.Close()
		// A passphrase is far below the pipe's buffer: written before gpg runs.
		_, err = w.WriteString(pw + "\n")
		w.Close()
		if err != nil {
			return "", secret.Fail("gpg", path+": passing the passphrase: "+err.Error(), err)
		}
		pass = r
		args = append(args, "--passphrase-fd", "3")
	}
	// Plain text over the cap (a compressed bomb) stops gpg at once.
	run, stop := context.WithCancel(ctx)
	defer stop()
	out := secret.Capped{Max: boundedfile.MaxSecret, Full: stop}
	stderr := secret.Capped{Max: 8192}
	cmd := exec.CommandContext(run, bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(data), &out, &stderr
	if pass != nil {
		cmd.ExtraFiles = []*os.File{pass} // fd 3
	}
	// gpg's messages in English, whatever the locale, to be told apart.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANGUAGE=C")
	killRest := secret.OwnGroup(cmd)
	cmd.WaitDelay = 100 * time.Millisecond
	runErr := cmd.Run()
	_ = killRest()
	defer clear(out.Buf)
	said := scrub.Scrub(string(stderr.Buf))
	switch {
	case ctx.Err() != nil:
		return "", secret.Fail("gpg", path+": gpg --decrypt: "+secret.CtxMsg(ctx, ctx.Err())+gpgWaiting(said), ctx.Err())
	case out.Over:
		return "", secret.Fail("gpg", path+": the plain text is over 64 KiB (gpg stopped): a secret is one line", nil)
	case runErr != nil:
		return "", secret.Fail("gpg", path+": "+gpgFailure(said, o.GPGPassphrase != "", runErr), runErr)
	}
	line, _, _ := strings.Cut(string(out.Buf), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", secret.Fail("gpg", path+": the first line of the plain text is empty", secret.ErrNotFound)
	}
	return line, nil
}

// gpgWaiting says what a gpg that ran out of time was last doing.
func gpgWaiting(stderr string) string {
	if l := lastGPGLine(stderr); l != "" {
		return " (gpg said: " + secret.Quote(l) + ")"
	}
	return " (is gpg-agent stuck? gpgconf --kill gpg-agent)"
}

// gpgFailure tells the usual failures apart by gpg's own words (C locale),
// already scrubbed of the file's text.
func gpgFailure(stderr string, hasPass bool, runErr error) string {
	said, found := "", "" // the gpg line has() found, and what in it
	has := func(s ...string) bool {
		for l := range strings.Lines(stderr) {
			for _, x := range s {
				if strings.Contains(l, x) {
					said, _ = strings.CutPrefix(strings.TrimSpace(l), "gpg: ")
					found = x
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("can't connect to the agent", "no gpg-agent running", "failed to start agent"):
		return "gpg-agent is not available, and gpg cannot decrypt without it (" + secret.Quote(said) + "): check that gnupg's gpg-agent is installed and GNUPGHOME is writable"
	case has("Bad passphrase", "bad passphrase"):
		return "wrong passphrase for the key (--gpg-passphrase-ref)"
	case has("can't get input", "No passphrase given", "No pinentry", "Operation cancelled") && !hasPass:
		return "the key has a passphrase and none was given: add --gpg-passphrase-ref (env:, file:, ...), or unlock it in gpg-agent"
	case has("No secret key"):
		return "no secret key for it in this user's keyring (GNUPGHOME " + secret.Quote(gnupgHome()) + "): it was encrypted for another key; encrypt it again with gpg -r for this user's key"
	case has("no valid OpenPGP data found", "invalid packet", "CRC error", "invalid armor", "unexpected end of file", "packet(", "Wrong key usage", "unknown packet", "invalid radix64"):
		// Only our word for it: these lines quote the file.
		return "not a valid gpg-encrypted file (corrupted?): gpg found " + secret.Quote(found)
	}
	if l := lastGPGLine(stderr); l != "" {
		return "gpg --decrypt failed: " + secret.Quote(l)
	}
	var ee *exec.ExitError
	if errors.As(runErr, &ee) {
		return "gpg --decrypt failed: " + ee.String()
	}
	return "gpg --decrypt failed: " + runErr.Error()
}

// lastGPGLine is gpg's last "gpg: " message line, without the prefix.
func lastGPGLine(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "gpg: "); ok {
			return l
		}
	}
	return ""
}

func gnupgHome() string {
	if h := os.Getenv("GNUPGHOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h + "/.gnupg"
	}
	return "~/.gnupg"
}
