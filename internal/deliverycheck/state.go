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
	// A symlink to a directory is that directory: its mode and owner are
	// what count, checked below.
	st, err := os.Stat(dir)
	if err != nil {
		return stateErrorf("--state-dir %s: %v", dir, errors.Unwrap(err))
	}
	switch {
	case !st.IsDir():
		return stateErrorf("--state-dir %s is not a directory (it is a %s)", dir, fileKind(st.Mode()))
	case st.Mode().Perm()&0o022 != 0:
		return stateErrorf("--state-dir %s is writable by group or others (mode %04o): chmod 700 it, or give another --state-dir", dir, st.Mode().Perm())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Geteuid() {
		return stateErrorf("--state-dir %s belongs to uid %d, not to this user (%d): give a directory of its own", dir, sys.Uid, os.Geteuid())
	}
	return nil
}

// fileKind names what a path is, for messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "regular file"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// loadState reads the probes pending for instance; a missing file holds none.
func loadState(ctx context.Context, dir, instance string) ([]Pending, error) {
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	return readState(ctx, dir, instance)
}

func readState(ctx context.Context, dir, instance string) ([]Pending, error) {
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

// lockPoll is how often a run waiting for the state's lock tries again.
const lockPoll = 10 * time.Millisecond

// lockState takes the instance's lock (flock on a file of its own beside
// the state, never removed: removing it would let two runs hold two
// locks), waiting while ctx allows; unlock releases it.
func lockState(ctx context.Context, dir, instance string) (unlock func(), err error) {
	path := filepath.Join(dir, "."+instance+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, stateErrorf("cannot open the lock %s: %v", path, errors.Unwrap(err))
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, stateErrorf("cannot lock %s: %v", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, stateErrorf("%s is held by another run of instance %s longer than -t allows: are two checks running with the same --instance?", path, instance)
		case <-time.After(lockPoll):
		}
	}
}

// saveState writes what this run changed of the pending probes, from
// before (as loadState read them) to after, into the file as it is now:
// runs of one instance that overlap (a check re-run by hand beside the
// scheduled one) each add their probe and remove what they resolved,
// under the lock, and lose none of the other's.
func saveState(ctx context.Context, dir, instance string, before, after []Pending) error {
	unlock, err := lockState(ctx, dir, instance)
	if err != nil {
		return err
	}
	defer unlock()
	now, err := readState(ctx, dir, instance)
	if err != nil {
		return err
	}
	has := func(l []Pending, tok string) bool {
		return slices.ContainsFunc(l, func(p Pending) bool { return p.Token == tok })
	}
	merged := slices.DeleteFunc(now, func(p Pending) bool { return has(before, p.Token) && !has(after, p.Token) })
	for _, p := range after {
		if !has(merged, p.Token) {
			merged = append(merged, p)
		}
	}
	return writeState(dir, instance, merged)
}

// writeState replaces the file atomically (a temporary file renamed over
// it), mode 0600; with nothing pending it removes it.
func writeState(dir, instance string, pending []Pending) error {
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
