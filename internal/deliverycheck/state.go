package deliverycheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// Pending is a probe sent and not yet seen: found in a later run it is
// late, not lost.
type Pending struct {
	Token string    `json:"token"`
	Sent  time.Time `json:"sent"` // our clock, at the server's 250 to the message
}

// The state file is small: it holds at most maxPending probes (the newest).
const (
	maxPending = 100
	maxState   = 64 << 10
)

// stateFile is the file's format.
type stateFile struct {
	Pending []Pending `json:"pending"`
}

// DefaultStateDir is where a monitoring user keeps the state: /var/lib/smtpcheck
// for root, else $XDG_STATE_HOME/smtpcheck or ~/.local/state/smtpcheck.
func DefaultStateDir() (string, error) {
	if os.Geteuid() == 0 {
		return "/var/lib/smtpcheck", nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "smtpcheck"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil || !filepath.IsAbs(home) {
		return "", plugin.Usagef("no home directory to keep the probes' state in: give --state-dir DIR")
	}
	return filepath.Join(home, ".local", "state", "smtpcheck"), nil
}

// statePath is the file of one instance in dir.
func statePath(dir, instance string) string { return filepath.Join(dir, instance+".json") }

// stateError is a state directory or file that cannot be used: our
// configuration, so UNKNOWN.
type stateError struct{ msg string }

func (e *stateError) Error() string { return "state: " + e.msg }

func stateErrorf(format string, args ...any) error {
	return &stateError{fmt.Sprintf(format, args...)}
}

// prepareDir creates dir 0700 if missing and refuses one that others may
// write to or that belongs to another user: its files decide what this
// check deletes.
func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return stateErrorf("cannot create --state-dir %s: %v", dir, errors.Unwrap(err))
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return stateErrorf("--state-dir %s: %v", dir, errors.Unwrap(err))
	}
	switch {
	case !st.IsDir():
		return stateErrorf("--state-dir %s is not a directory", dir)
	case st.Mode().Perm()&0o022 != 0:
		return stateErrorf("--state-dir %s is writable by group or others (mode %04o): chmod 700 it, or give another --state-dir", dir, st.Mode().Perm())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return stateErrorf("--state-dir %s belongs to uid %d, not to this user (%d): give a directory of its own", dir, sys.Uid, os.Geteuid())
	}
	return nil
}

// loadState reads the probes pending for instance; a missing file holds none.
func loadState(ctx context.Context, dir, instance string) ([]Pending, error) {
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	path := statePath(dir, instance)
	b, err := boundedfile.Read(ctx, "state file", path, maxState, func(fi fs.FileInfo) error {
		if fi.Mode().Perm()&0o022 != 0 {
			return stateErrorf("%s is writable by group or others: remove it (its probes are then reported as lost)", path)
		}
		return nil
	})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.As(err, new(*stateError)):
		return nil, err
	case err != nil:
		return nil, &stateError{err.Error()}
	}
	var sf stateFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return nil, stateErrorf("%s is not a state file of check_smtp_delivery (%v): remove it", path, err)
	}
	return sf.Pending, nil
}

// saveState replaces the file atomically (a temporary file renamed over
// it), mode 0600; with nothing pending it removes it.
func saveState(dir, instance string, pending []Pending) error {
	path := statePath(dir, instance)
	if len(pending) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return stateErrorf("cannot remove %s: %v", path, errors.Unwrap(err))
		}
		return nil
	}
	slices.SortFunc(pending, func(a, b Pending) int { return a.Sent.Compare(b.Sent) })
	if len(pending) > maxPending {
		pending = pending[len(pending)-maxPending:]
	}
	b, err := json.Marshal(stateFile{Pending: pending})
	if err != nil {
		return stateErrorf("%v", err)
	}
	f, err := os.CreateTemp(dir, "."+instance+".*")
	if err != nil {
		return stateErrorf("cannot write in %s: %v", dir, errors.Unwrap(err))
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600) // CreateTemp's 0600 already; said for the reader
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return stateErrorf("cannot write %s: %v", path, err)
	}
	return nil
}
