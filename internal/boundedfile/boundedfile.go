// Package boundedfile is the one way the plugins read a file they are given
// (a CA bundle, an ini file, a secret): only a regular file, and only up to
// a size cap, so that a FIFO that never opens or never ends, a device such
// as /dev/zero or a huge file cannot stall a run past -t or swamp its
// memory. What a read of a hung file system still costs is bounded by the
// plugin's watchdog, which Read tells what it is reading (package activity).
package boundedfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/smtpcheck/smtpcheck/internal/activity"
)

// Size caps. Each is far above what such a file really holds and far below
// what would cost a run noticeable time or memory, so that a wrong file (a
// disk image, a log) is refused before it is read.
const (
	// MaxCABundle: the Debian system bundle (some 150 roots) is about 220 KB.
	MaxCABundle = 8 << 20
	// MaxIni: an ini file holds a few sections of options.
	MaxIni = 1 << 20
	// MaxSecret: a secret is one line; a password or a token (a JWT is a few KB).
	MaxSecret = 64 << 10
)

// Error is a file that was not read. Its text is "PATH: what is wrong", so
// that a caller can put the flag in front ("--ca-file: ").
type Error struct {
	Path string // as given
	Msg  string // what is wrong and what to do, without the path
	Err  error  // the cause, for errors.Is (fs.ErrNotExist, ErrNotRegular, ErrTooBig ...)
}

func (e *Error) Error() string { return e.Path + ": " + e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// The causes of a refusal, for a caller that skips some (a directory of
// certificates skips what is not a file).
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooBig     = errors.New("over the size limit")
)

// Read returns the contents of the regular file at path, refusing anything
// else and anything over limit bytes. what names the file in messages and,
// through ctx's activity tracker, for the watchdog ("--ca-file"). vet, if
// not nil, judges the open file before any of it is read (a secret's mode);
// its error is returned as it is.
func Read(ctx context.Context, what, path string, limit int64, vet func(fs.FileInfo) error) ([]byte, error) {
	defer activity.StartFile(ctx, "reading "+what+" "+path)()
	// What is not a regular file is refused before it is opened: opening a
	// device can act (a watchdog device arms a reboot timer, a tape
	// rewinds), and opening a FIFO lets a writer waiting on it go on.
	if st, err := os.Stat(path); err != nil {
		return nil, openError(path, err)
	} else if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	// O_NONBLOCK: should a FIFO have been put in its place since, the open
	// returns at once instead of waiting for a writer (a regular file reads
	// the same either way); O_NOCTTY: nor does a terminal become ours.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	defer f.Close()
	// Judged again on what was opened: the file may have been swapped.
	st, err := f.Stat()
	if err != nil {
		return nil, &Error{path, "cannot stat: " + cause(err), err}
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	if vet != nil {
		if err := vet(st); err != nil {
			return nil, err
		}
	}
	if st.Size() > limit {
		return nil, tooBig(what, path, size(st.Size()), limit)
	}
	// Through a limit still: the file may grow while it is read, and some
	// (in /proc) say they are empty.
	var b bytes.Buffer
	b.Grow(int(st.Size()) + bytes.MinRead)
	if _, err := b.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, &Error{path, "cannot read: " + cause(err), err}
	}
	if int64(b.Len()) > limit {
		return nil, tooBig(what, path, "", limit)
	}
	return b.Bytes(), nil
}

// tooBig refuses a file of size has ("" when only the read found out).
func tooBig(what, path, has string, limit int64) error {
	if has != "" {
		has += ", "
	}
	return &Error{path, fmt.Sprintf("%sover the %s limit for %s; is it the right file?", has, size(limit), what), ErrTooBig}
}

// openError words a failed stat or open.
func openError(path string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &Error{path, "no such file", err}
	case errors.Is(err, fs.ErrPermission):
		return &Error{path, fmt.Sprintf("permission denied (running as uid %d)", os.Getuid()), err}
	case errors.Is(err, syscall.ELOOP):
		return &Error{path, "a loop of symbolic links; give the path of a regular file", err}
	}
	return &Error{path, "cannot open: " + cause(err), err}
}

// notRegular refuses a file of mode m, naming where a link led.
func notRegular(path string, m fs.FileMode) error {
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeDevice != 0:
		kind = "a device"
	}
	if kind != "not a regular file" {
		kind += ", not a regular file"
	}
	if target, err := filepath.EvalSymlinks(path); err == nil && target != filepath.Clean(path) {
		kind = "links to " + target + ", " + kind
	}
	return &Error{path, kind + "; give the path of a regular file", ErrNotRegular}
}

// cause is err without the "open PATH:" that *fs.PathError puts in front.
func cause(err error) string {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// size renders a byte count for people: "200 MiB", "1.5 KiB", "17 bytes".
func size(n int64) string {
	in := func(unit int64) string {
		return strconv.FormatFloat(math.Floor(float64(n)/float64(unit)*10)/10, 'f', -1, 64)
	}
	switch {
	case n >= 1<<20:
		return in(1<<20) + " MiB"
	case n >= 1<<10:
		return in(1<<10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
