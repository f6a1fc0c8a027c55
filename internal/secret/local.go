package secret

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
)

// readEnv is env:NAME: set, not empty, no control characters. The name is
// shown only as shownRef allows.
func readEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	notSet, empty := name+": variable not set", name+": variable is empty"
	if !conventionalVar(name) {
		notSet, empty = "the variable it names is not set"+hiddenName, "the variable it names is empty"+hiddenName
	}
	switch {
	case !ok:
		return "", Fail("env", notSet, ErrNotFound)
	case v == "":
		return "", Fail("env", empty, ErrNotFound)
	}
	return v, checkValue("env", shownRef("env", name), v)
}

// readFile is file:PATH: the first line of a file nobody else may read.
// ctx names the read for the plugin's watchdog.
func readFile(ctx context.Context, path string) (string, error) {
	return readPrivateFile(ctx, "file", path, "")
}

// ReadPrivateFile reads the first line (CR/LF stripped) of path, refusing
// a file that group or others may read or write and, as every file read,
// anything but a regular file of at most boundedfile.MaxSecret. what names
// the file in messages when it is not a file: reference
// (e.g. "--vault-token-file"). It serves the helper, which has no watchdog
// of its own to name the read for: the plugin's bounds it.
func ReadPrivateFile(scheme, path, what string) (string, error) {
	return readPrivateFile(context.Background(), scheme, path, what)
}

func readPrivateFile(ctx context.Context, scheme, path, what string) (string, error) {
	name := path
	if what != "" {
		name = what + " " + path
	}
	data, err := ReadPrivateBytes(ctx, scheme, path, what)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", Fail(scheme, name+": first line is empty", ErrNotFound)
	}
	return line, checkValue(scheme, name, line)
}

// ReadPrivateBytes is the whole of a file that ReadPrivateFile would take
// (a gpg: reference's encrypted file), with the same checks and messages.
func ReadPrivateBytes(ctx context.Context, scheme, path, what string) ([]byte, error) {
	name := path
	if what != "" {
		name = what + " " + path
	}
	data, err := boundedfile.Read(ctx, cmp.Or(what, "a secret file"), path, boundedfile.MaxSecret, func(st fs.FileInfo) error {
		if st.Mode().Perm()&0o077 != 0 {
			return Fail(scheme, name+": "+looseMode(path, st), nil)
		}
		return nil
	})
	if be, ok := errors.AsType[*boundedfile.Error](err); ok {
		var cause error = be
		msg := be.Msg
		switch {
		case errors.Is(be, fs.ErrNotExist):
			cause = errors.Join(be, ErrNotFound)
		case errors.Is(be, fs.ErrPermission): // not ours: a mode change is not the plugin's to advise
			msg += ": " + ownFile()
		}
		return nil, Fail(scheme, name+": "+msg, cause)
	}
	if err != nil {
		return nil, err // the mode, refused by the check above
	}
	return data, nil
}

// looseMode words the refusal of a secret file that group or others may
// read or write, by cause. chmod is the remedy only for a file of the
// plugin's own user that nobody else needs: a file of another user, or one
// shared with a group (/etc/shadow, root:shadow 0640), keeps its mode and
// the secret gets a file of its own.
func looseMode(path string, fi fs.FileInfo) string {
	perm := fi.Mode().Perm()
	head := fmt.Sprintf("mode %04o lets group or others read or write it", perm)
	me := os.Geteuid()
	uid, gid, ok := owner(fi)
	switch {
	case !ok:
	case uid != me:
		return fmt.Sprintf("%s, and it belongs to uid %d: leave it as it is and %s", head, uid, ownFile())
	case perm&0o007 == 0 && gid != os.Getegid():
		return fmt.Sprintf("mode %04o lets group %d read or write it, a group it is shared with: leave it as it is and %s", perm, gid, ownFile())
	}
	return head + "; run: chmod 600 " + path
}

// ownFile is the remedy for a secret in a file the plugin may not take:
// a file of its own.
func ownFile() string {
	return fmt.Sprintf("put the secret in a file of its own that only uid %d, which runs the plugin, can read (mode 600)", os.Geteuid())
}

// ResolveLocal resolves a reference that may only be env: or file: (the
// keyring passphrase, AppRole ids). flag names the option in messages.
func ResolveLocal(flag, ref string) (string, error) {
	scheme, rest, err := split(ref)
	if err != nil {
		return "", WithFlag(flag, err)
	}
	switch scheme {
	case "env":
		v, err := readEnv(rest)
		return v, WithFlag(flag, err)
	case "file":
		v, err := readFile(context.Background(), rest) // the helper's: see ReadPrivateFile
		return v, WithFlag(flag, err)
	}
	return "", Fail("", flag+": want env:NAME or file:PATH, not a "+scheme+": reference", nil)
}

// WithFlag names the option a reference came from in its error.
func WithFlag(flag string, err error) error {
	var se *Error
	if err == nil || !errors.As(err, &se) {
		return err
	}
	return &Error{Scheme: se.Scheme, Msg: flag + ": " + se.Msg, Err: se.Err}
}
