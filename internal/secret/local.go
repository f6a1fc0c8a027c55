package secret

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
)

// readEnv is env:NAME: set and not empty. split has checked that name
// looks like a variable's, so naming it in a message shows no password.
func readEnv(name string) (string, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", Fail("env", name+": variable not set", ErrNotFound)
	}
	if v == "" {
		return "", Fail("env", name+": variable is empty", ErrNotFound)
	}
	return v, nil
}

// readFile is file:PATH: the first line of a file nobody else may read.
func readFile(path string) (string, error) {
	return ReadPrivateFile("file", path, "")
}

// ReadPrivateFile reads the first line (CR/LF stripped) of path, refusing
// a file that group or others may read or write and, as every file read,
// anything but a regular file of at most boundedfile.MaxSecret. what names
// the file in messages when it is not a file: reference
// (e.g. "--vault-token-file").
func ReadPrivateFile(scheme, path, what string) (string, error) {
	name := path
	if what != "" {
		name = what + " " + path
	}
	data, err := boundedfile.Read(cmp.Or(what, "a secret file"), path, boundedfile.MaxSecret, func(st fs.FileInfo) error {
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			return Fail(scheme, fmt.Sprintf("%s: mode %04o lets group or others read or write it; run: chmod 600 %s", name, perm, path), nil)
		}
		return nil
	})
	if be, ok := errors.AsType[*boundedfile.Error](err); ok {
		var cause error = be
		if errors.Is(be, fs.ErrNotExist) {
			cause = errors.Join(be, ErrNotFound)
		}
		return "", Fail(scheme, name+": "+be.Msg, cause)
	}
	if err != nil {
		return "", err // the mode, refused by the check above
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", Fail(scheme, name+": first line is empty", ErrNotFound)
	}
	return line, nil
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
		v, err := readFile(rest)
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
