//go:build linux

package prefault

import (
	"reflect"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// needPopulate skips on kernels without MADV_POPULATE_WRITE (before 5.14),
// where the package does nothing by design.
func needPopulate(t *testing.T) {
	t.Helper()
	m, err := syscall.Mmap(-1, 0, 64<<10, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(m)
	if err := syscall.Madvise(m, madvPopulateWrite); err != nil {
		t.Skipf("madvise(MADV_POPULATE_WRITE): %v: this kernel lacks it (Linux < 5.14)", err)
	}
}

// resident counts the pages of b that are in memory (mincore).
func resident(t *testing.T, b []byte) int {
	t.Helper()
	vec := make([]byte, len(b)/syscall.Getpagesize())
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// TestPopulateFrom, on 1 MiB of writable memory followed by reserved
// PROT_NONE space (as the runtime reserves address space beyond its heap):
// nothing is resident until populateFrom asks; a request reaching into the
// reserved space is cut down to what fits, and what is mapped of it gets
// populated all the same; nothing before the address is touched.
func TestPopulateFrom(t *testing.T) {
	needPopulate(t)
	const size = 1 << 20
	page := syscall.Getpagesize()
	reserved, err := syscall.Mmap(-1, 0, 2*size, syscall.PROT_NONE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(reserved)
	m := reserved[:size]
	if err := syscall.Mprotect(m, syscall.PROT_READ|syscall.PROT_WRITE); err != nil {
		t.Fatal(err)
	}
	if n := resident(t, m); n != 0 {
		t.Fatalf("%d pages resident before", n)
	}
	// From the middle: 1 MiB does not fit, 512 KiB does.
	half := m[size/2:]
	if got := populateFrom(uintptr(unsafe.Pointer(&half[0]))+7, size); got != size/2 {
		t.Errorf("populated %d bytes, want %d", got, size/2)
	}
	// And from near the end: the mapped rest is populated even by a
	// call that fails.
	if got := populateFrom(uintptr(unsafe.Pointer(&m[size/4])), size); got != size/2 {
		t.Errorf("populated %d bytes, want %d", got, size/2)
	}
	if n := resident(t, m[size/4:]); n != size*3/4/page {
		t.Errorf("%d pages resident after the second call, want %d", n, size*3/4/page)
	}
	m = m[:size/4] // the rest was checked above; below: nothing else was touched
	if n := resident(t, m); n != 0 {
		t.Errorf("%d pages resident before the anchor, want 0", n)
	}
	for i := range half {
		if half[i] != 0 {
			t.Fatalf("byte %d is %d, want 0", i, half[i])
		}
	}
}

// TestInit: this test binary ran the init, and the kernel took the call
// (how far the heap mapping reaches past the anchor depends on what ran
// before; a plugin's init runs early, with most of 4 MiB still ahead).
func TestInit(t *testing.T) {
	needPopulate(t)
	if Populated < 64<<10 || Populated > Size {
		t.Errorf("init populated %d bytes (kernel without MADV_POPULATE_WRITE?)", Populated)
	}
}

// TestText: the init mapped the whole code of the binary, whose bounds
// hold this test's own code.
func TestText(t *testing.T) {
	needPopulate(t)
	start, end := textRange()
	if runtime.GOARCH != "amd64" {
		if Text != 0 {
			t.Errorf("populated %d bytes of code without its bounds", Text)
		}
		return
	}
	if pc := reflect.ValueOf(TestText).Pointer(); pc < start || pc >= end {
		t.Fatalf("text bounds %#x-%#x do not hold this test's code at %#x", start, end, pc)
	}
	if Text < end-start || Text > end-start+2*pageSize {
		t.Errorf("init populated %d bytes of code, want the %d between the bounds", Text, end-start)
	}
}

// stackMoves reports whether a call chain about 20 KiB deep made the
// runtime copy the calling goroutine's stack: the address of a local
// variable, taken as a number the copy does not adjust, changes.
func stackMoves() bool {
	var local byte
	before := uintptr(unsafe.Pointer(&local))
	deep(20)
	return uintptr(unsafe.Pointer(&local)) != before
}

//go:noinline
func deep(n int) byte {
	var frame [1 << 10]byte
	frame[n] = byte(n)
	if n > 0 {
		return deep(n-1) + frame[n]
	}
	return frame[0]
}

// TestStack: on a fresh goroutine a deep call chain copies the stack; after
// Stack, it runs on the stack as it is.
func TestStack(t *testing.T) {
	fresh, grown := make(chan bool), make(chan bool)
	go func() { fresh <- stackMoves() }()
	go func() {
		Stack()
		grown <- stackMoves()
	}()
	if !<-fresh {
		t.Error("a 20 KiB call chain on a fresh goroutine did not copy its stack: the test measures nothing")
	}
	if <-grown {
		t.Error("after Stack, a 20 KiB call chain still copied the stack")
	}
}
