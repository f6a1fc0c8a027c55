//go:build linux && !amd64

package prefault

import "syscall"

var pageSize = uintptr(syscall.Getpagesize())

func madvise(addr, n, advice uintptr) (errno uintptr) {
	_, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr, n, advice)
	return uintptr(e)
}

// textRange is unknown here: the code is left to fault in.
func textRange() (start, end uintptr) { return 0, 0 }
