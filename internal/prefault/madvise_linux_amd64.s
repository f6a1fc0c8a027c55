#include "textflag.h"

// func madvise(addr, n, advice uintptr) (errno uintptr)
//
// The raw system call, as the runtime makes its own madvise calls: no
// entersyscall. It runs in an init, before any other goroutine wants the
// thread, and takes well under a millisecond.
TEXT ·madvise(SB),NOSPLIT,$0-32
	MOVQ	addr+0(FP), DI
	MOVQ	n+8(FP), SI
	MOVQ	advice+16(FP), DX
	MOVQ	$28, AX // SYS_madvise
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	AX, errno+24(FP)
	RET
ok:
	MOVQ	$0, errno+24(FP)
	RET

// func textRange() (start, end uintptr)
//
// The linker's symbols for the first and last byte of code, taken
// RIP-relative so that a PIE build gets its load address.
TEXT ·textRange(SB),NOSPLIT,$0-16
	LEAQ	runtime·text(SB), AX
	MOVQ	AX, start+0(FP)
	LEAQ	runtime·etext(SB), AX
	MOVQ	AX, end+8(FP)
	RET
