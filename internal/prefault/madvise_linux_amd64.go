package prefault

// pageSize is amd64's page size.
const pageSize = 4096

// madvise is in madvise_linux_amd64.s: importing package syscall would
// make the init wait for syscall's (see the package comment).
func madvise(addr, n, advice uintptr) (errno uintptr)

// textRange is in madvise_linux_amd64.s too: the linker's bounds of the
// binary's code (runtime.text, runtime.etext), wherever it is loaded.
func textRange() (start, end uintptr)
