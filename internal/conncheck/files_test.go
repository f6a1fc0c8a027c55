package conncheck

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// hostileCAFiles are the --ca-file paths TestFaultMatrix must see refused at
// once: a FIFO, a symbolic link to it, /dev/zero, a directory, 200 MiB.
func hostileCAFiles(t *testing.T) (fifo, link, zero, dir, big plugintest.Hostile) {
	h := plugintest.HostileFiles(t, "--ca-file", "8 MiB")
	return h[0], h[1], h[2], h[3], h[4]
}
