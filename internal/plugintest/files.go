package plugintest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Hostile is a file a plugin must refuse to read, and why: the message
// package boundedfile gives, path first.
type Hostile struct {
	Name string
	Path string
	Why  string
}

// HostileFiles makes, in a temporary directory, the files that once hung a
// plugin or swamped its memory: a FIFO (its open waits for a writer), a
// symbolic link to it, /dev/zero (never ends), a directory and a sparse
// 200 MiB file. what and limit are how the oversized file's message names
// the file and its cap ("--ca-file", "8 MiB").
func HostileFiles(t testing.TB, what, limit string) []Hostile {
	t.Helper()
	dir := t.TempDir()
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real // so that the link's target reads as boundedfile names it
	}
	fifo, link, big := filepath.Join(dir, "fifo"), filepath.Join(dir, "link"), filepath.Join(dir, "big")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(fifo, link); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(big, os.O_CREATE|os.O_WRONLY, 0o600)
	if err == nil {
		err = f.Truncate(200 << 20)
		f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	const regular = "not a regular file; give the path of a regular file"
	return []Hostile{
		{"FIFO", fifo, fifo + ": a named pipe (FIFO), " + regular},
		{"symlink to a FIFO", link, link + ": links to " + fifo + ", a named pipe (FIFO), " + regular},
		{"/dev/zero", "/dev/zero", "/dev/zero: a device, " + regular},
		{"directory", dir, dir + ": a directory, " + regular},
		{"200 MiB", big, big + ": 200 MiB, over the " + limit + " limit for " + what + "; is it the right file?"},
	}
}
