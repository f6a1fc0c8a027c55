package prefault

import "unsafe"

// MADV_POPULATE_READ and MADV_POPULATE_WRITE (Linux 5.14).
const (
	madvPopulateRead  = 22
	madvPopulateWrite = 23
)

// populateText maps the binary's code in one call and returns how many
// bytes; 0 where the bounds are unknown or the kernel refuses.
func populateText() uintptr {
	start, end := textRange()
	if end <= start {
		return 0
	}
	start &^= pageSize - 1
	n := (end - start + pageSize - 1) &^ (pageSize - 1)
	if madvise(start, n, madvPopulateRead) != 0 {
		return 0
	}
	return n
}

var anchor *[64]byte

// populate faults in up to size bytes of the heap from the page of a fresh
// allocation on.
func populate(size uintptr) uintptr {
	anchor = new([64]byte) // on the heap: anchor is a package variable
	return populateFrom(uintptr(unsafe.Pointer(anchor)), size)
}

// populateFrom faults in size bytes from the page of addr on and returns
// how much a call confirmed. A range reaching past the writable mapping
// fails (EINVAL into reserved PROT_NONE space, ENOMEM into a hole) after
// populating the part that is mapped, so the halved retries, a few at
// most, only find out how much that was; on a kernel without
// MADV_POPULATE_WRITE every call fails and nothing changes.
func populateFrom(addr, size uintptr) uintptr {
	start := addr &^ (pageSize - 1)
	for n := size; n >= 64<<10; n /= 2 {
		if madvise(start, n, madvPopulateWrite) == 0 {
			return n
		}
	}
	return 0
}
