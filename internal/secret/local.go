package secret

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// readEnv is env:NAME: set and not empty.
func readEnv(name string) (string, error) {
	if strings.ContainsAny(name, "= \t\n") {
		return "", Fail("env", Quote(name)+": not a variable name", nil)
	}
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
// a file that group or others may read or write. what names the file in
// messages when it is not a file: reference (e.g. "--vault-token-file").
func ReadPrivateFile(scheme, path, what string) (string, error) {
	name := path
	if what != "" {
		name = what + " " + path
	}
	f, err := os.Open(path)
	if err != nil {
		var cause error = err
		msg := "cannot open"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			msg, cause = "no such file", errors.Join(err, ErrNotFound)
		case errors.Is(err, fs.ErrPermission):
			msg = fmt.Sprintf("permission denied (running as uid %d)", os.Getuid())
		}
		return "", Fail(scheme, name+": "+msg, cause)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", Fail(scheme, name+": cannot stat", err)
	}
	if !st.Mode().IsRegular() {
		return "", Fail(scheme, name+": not a regular file", nil)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return "", Fail(scheme, fmt.Sprintf("%s: mode %04o lets group or others read or write it; run: chmod 600 %s", name, perm, path), nil)
	}
	// Read at most 64 KiB: a secret is one line.
	line, err := bufio.NewReaderSize(io.LimitReader(f, 64<<10), 4096).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", Fail(scheme, name+": cannot read", err)
	}
	line = strings.TrimRight(line, "\r\n")
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
