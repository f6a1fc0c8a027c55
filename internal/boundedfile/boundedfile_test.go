package boundedfile_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/activity"
	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// read runs Read, failing the test if it does not return at once: a FIFO
// whose open waits for a writer would block it forever.
func read(t *testing.T, path string, max int64, vet func(fs.FileInfo) error) ([]byte, error) {
	t.Helper()
	return readCtx(t, context.Background(), path, max, vet)
}

func readCtx(t *testing.T, ctx context.Context, path string, max int64, vet func(fs.FileInfo) error) ([]byte, error) {
	t.Helper()
	type res struct {
		data []byte
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		data, err := boundedfile.Read(ctx, "--ca-file", path, max, vet)
		ch <- res{data, err}
	}()
	select {
	case r := <-ch:
		return r.data, r.err
	case <-time.After(2 * time.Second):
		t.Fatalf("Read(%s) blocked", path)
		return nil, nil
	}
}

func TestHostileFilesRefused(t *testing.T) {
	hostile := plugintest.HostileFiles(t, "--ca-file", "8 MiB")
	for _, h := range hostile {
		_, err := read(t, h.Path, boundedfile.MaxCABundle, nil)
		if err == nil || err.Error() != h.Why {
			t.Errorf("%s: got %v\nwant %s", h.Name, err, h.Why)
		}
	}
	// A relative path is named as given, not as a link to itself.
	t.Chdir(filepath.Dir(hostile[0].Path))
	if _, err := read(t, "./fifo", 100, nil); err == nil || err.Error() != "./fifo: a named pipe (FIFO), not a regular file; give the path of a regular file" {
		t.Errorf("relative: %v", err)
	}

	sock := filepath.Join(t.TempDir(), "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := read(t, sock, 100, nil); err == nil || err.Error() != sock+": a socket, not a regular file; give the path of a regular file" {
		t.Errorf("socket: %v", err)
	}

	loop := filepath.Join(t.TempDir(), "loop")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	if _, err := read(t, loop, 100, nil); err == nil || err.Error() != loop+": a loop of symbolic links; give the path of a regular file" {
		t.Errorf("loop: %v", err)
	}

	missing := filepath.Join(t.TempDir(), "missing")
	if _, err := read(t, missing, 100, nil); err == nil || err.Error() != missing+": no such file" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}

func TestSizeCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, []byte(strings.Repeat("x", 1536)), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := read(t, p, 1536, nil); err != nil || len(data) != 1536 {
		t.Errorf("at the cap: %d bytes, %v", len(data), err)
	}
	if _, err := read(t, p, 1535, nil); err == nil || err.Error() != p+": 1.5 KiB, over the 1.4 KiB limit for --ca-file; is it the right file?" {
		t.Errorf("over the cap: %v", err)
	}
	// A file in /proc says it is empty: the read itself stops at the cap.
	if _, err := read(t, "/proc/self/status", 100, nil); err == nil || err.Error() != "/proc/self/status: over the 100 bytes limit for --ca-file; is it the right file?" {
		t.Errorf("/proc: %v", err)
	}
}

// vet sees the open file before anything is read, while the watchdog can
// see what is being read; its refusal is returned as it is.
func TestVetAndActivity(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte("x\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("mode 0640")
	ctx, tracker := activity.NewContext(context.Background())
	var doing string
	var file bool
	_, err := readCtx(t, ctx, p, 100, func(st fs.FileInfo) error {
		doing, file = tracker.Current()
		if st.Mode().Perm() != 0o640 {
			t.Errorf("vet saw mode %v", st.Mode())
		}
		return refused
	})
	if err != refused {
		t.Errorf("vet's error: %v", err)
	}
	if want := "reading --ca-file " + p; doing != want || !file {
		t.Errorf("activity during the read: %q (a file: %v), want %q", doing, file, want)
	}
	if now, _ := tracker.Current(); now != "" {
		t.Errorf("activity after the read: %q", now)
	}
}

// What is not a regular file is refused before it is opened: a writer
// waiting for a reader of a FIFO is never let through (as opening a device
// never arms or rewinds it).
func TestNotOpened(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for a reader
		if err == nil {
			f.Close()
		}
		opened <- err
	}()
	time.Sleep(20 * time.Millisecond) // the writer is waiting, or about to
	if _, err := read(t, fifo, 100, nil); !errors.Is(err, boundedfile.ErrNotRegular) {
		t.Errorf("got %v", err)
	}
	select {
	case <-opened:
		t.Fatal("Read opened the FIFO")
	case <-time.After(200 * time.Millisecond):
	}
	// Let the writer go.
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	<-opened
	r.Close()
}
