package deliverycheck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

func tokens(ps []Pending) []string {
	var l []string
	for _, p := range ps {
		l = append(l, p.Token)
	}
	slices.Sort(l)
	return l
}

// TestStateMergedUnderLock: runs of one instance that overlap each add
// their probe and remove what they resolved; none loses the other's.
func TestStateMergedUnderLock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := prepareDir(dir); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Minute)
	late := Pending{Token: "inst.late", Sent: base}
	kept := Pending{Token: "inst.kept", Sent: base}
	if err := writeState(dir, "inst", []Pending{late, kept}); err != nil {
		t.Fatal(err)
	}
	const runs = 20
	var wg sync.WaitGroup
	errs := make(chan error, runs)
	for i := range runs {
		wg.Go(func() {
			before, err := loadState(t.Context(), dir, "inst")
			if err != nil {
				errs <- err
				return
			}
			// Each run found "inst.late" and sent a probe not yet seen.
			after := slices.DeleteFunc(slices.Clone(before), func(p Pending) bool { return p.Token == late.Token })
			after = append(after, Pending{Token: fmt.Sprintf("inst.run%02d", i), Sent: time.Now()})
			errs <- saveState(t.Context(), dir, "inst", before, after)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := loadState(t.Context(), dir, "inst")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"inst.kept"}
	for i := range runs {
		want = append(want, fmt.Sprintf("inst.run%02d", i))
	}
	if g := tokens(got); !slices.Equal(g, want) {
		t.Errorf("pending after %d overlapping runs:\n got %q\nwant %q", runs, g, want)
	}
}

// TestStateLockBounded: a lock held by another run is waited for only as
// long as ctx allows, and the error says what to do.
func TestStateLockBounded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := prepareDir(dir); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, ".inst.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	err = saveState(ctx, dir, "inst", nil, []Pending{{Token: "inst.x", Sent: time.Now()}})
	want := "state: " + filepath.Join(dir, ".inst.lock") + " is held by another run of instance inst longer than -t allows: are two checks running with the same --instance?"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
	f.Close() // released: the next run saves
	if err := saveState(t.Context(), dir, "inst", nil, []Pending{{Token: "inst.x", Sent: time.Now()}}); err != nil {
		t.Fatal(err)
	}
}

// TestStateDirSymlink: a symlink to a directory of this user's is that
// directory; a symlink to a file is refused, saying what it is.
func TestStateDirSymlink(t *testing.T) {
	tmp := t.TempDir()
	real := filepath.Join(tmp, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tmp, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := prepareDir(link); err != nil {
		t.Errorf("symlink to a directory: %v", err)
	}
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	flink := filepath.Join(tmp, "flink")
	if err := os.Symlink(file, flink); err != nil {
		t.Fatal(err)
	}
	err := prepareDir(flink)
	if want := "state: cannot create --state-dir " + flink + ": not a directory"; err == nil || err.Error() != want {
		t.Errorf("symlink to a file: %v\nwant %s", err, want)
	}
}
