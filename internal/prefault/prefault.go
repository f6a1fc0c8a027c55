// Package prefault makes a plugin's start cheaper on hosts where page
// faults are dear: its init asks the kernel, in one madvise call, for the
// stretch of the Go heap that a plugin run then fills.
//
// A plugin is a short process: it touches about 300 fresh heap pages
// (package inits, flag parsing, the TLS handshake) and exits. Each first
// touch is a page fault; on the virtual machines this is built and tested
// on, one costs about 11 µs, against under 2 µs per page populated in bulk
// by MADV_POPULATE_WRITE. Measured on check_smtp_auth against Postfix, 400
// interleaved runs (medians): 21.45 ms without, 20.43 ms populating 1 MiB,
// 20.02 ms populating 2 MiB. Each MiB adds about 0.5 MiB to the peak RSS
// (check_smtp_conn's worst run: 7.32 MiB with 1 MiB, 7.63 with 1.5, 8.07
// with 2, against its 8 MiB target), hence 1.5. On bare metal both are
// cheap and the call changes little.
//
// It only asks for memory the runtime has already mapped for its heap,
// starting at the page of a fresh allocation: Go's page allocator hands
// out the lowest free addresses first, so those are the pages the run
// touches next. Fresh anonymous pages are zero, as the runtime expects;
// pages already present are left as they are. Where the kernel lacks
// MADV_POPULATE_WRITE (before Linux 5.14) the call fails and nothing
// changes.
//
// The binary's code is mapped the same way, in one MADV_POPULATE_READ call
// over the linker's text bounds. A run touches nearly all of it anyway
// (check_smtp_tls: 2.8-3.1 of its 3.2 MB, through the kernel's 64 KiB
// fault-around), so this costs about 0.1 MiB of peak RSS and spares some
// fifty file-page faults: check_smtp_conn plain took 11.40 ms instead of
// 12.04, check_smtp_tls 15.40 instead of 16.03 (medians of 100
// interleaved rounds on Postfix). Mapping the read-only data or the data
// as well gained nothing measurable, for up to 0.3 MiB more. The pages
// are the page cache's, shared with every other run of the binary.
//
// Its init also grows the main goroutine's stack once, while it is
// shallow (Stack). Go starts a goroutine on 8 KiB and copies it to twice
// the size when a call runs out; a copy unwinds every frame on the stack,
// reading the pclntab of each function, and in a fresh process those reads
// are page faults on the binary. A plugin run outgrows 8 KiB in flag
// parsing, the TLS handshake and fmt, so it copied a deep stack two or
// three times: about 17 of check_smtp_conn -V's 90 faults on its file.
//
// Go runs a package's init once its imports have run theirs, so the
// package imports nothing but unsafe where it can: on linux/amd64 the
// madvise call is a few lines of assembly, and the init runs fifth of
// check_smtp_conn's 83, after the runtime's. Waiting for syscall's, it ran
// fifteenth, after inits that had touched much of the heap page by page:
// check_smtp_conn plain took 1.200 times the floor that way, 1.167 this
// way (80 interleaved rounds on Postfix). Other architectures call
// madvise through package syscall. internal/plugin imports the package for
// every plugin.
package prefault

// Size is how much of the heap is populated: most of the stretch a plugin
// run touches (about 1.9 MiB for check_smtp_auth); more would cost peak
// RSS for little time.
const Size = 3 << 19 // 1.5 MiB

// Populated is how many bytes of the heap the init populated (0: none),
// and Text how many of the binary's code.
var Populated, Text uintptr

func init() {
	Text = populateText()
	Populated = populate(Size)
	Stack()
}

// StackSize is the stack Stack gives a goroutine: enough for a plugin run
// (go-flags' reflection, crypto/tls, fmt) to end without another copy.
const StackSize = 32 << 10

// stackFrame is the frame that makes the runtime grow a fresh goroutine's
// stack straight to StackSize: it doubles the stack until the frame fits
// beside the frames below, which leaves room for those few.
const stackFrame = StackSize - 2<<10

// Stack grows the calling goroutine's stack to StackSize now, where only
// its caller's frames need copying. Call it first thing in a goroutine that
// runs a check.
func Stack() { touch(new(byte)) }

// touch has the big frame. The array is used, so it is kept and zeroed:
// the zeroing faults in stack pages that the run touches anyway.
//
//go:noinline
func touch(b *byte) {
	var frame [stackFrame]byte
	frame[len(frame)-1] = *b
	keep(frame[:])
}

//go:noinline
func keep([]byte) {}
