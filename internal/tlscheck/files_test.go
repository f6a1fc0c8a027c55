package tlscheck

import (
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// A --ca-file that is not a regular file of sane size (a FIFO, /dev/zero, a
// directory, 200 MiB) is refused at once as a usage error.
func TestHostileCAFile(t *testing.T) {
	for _, h := range plugintest.HostileFiles(t, "--ca-file", "8 MiB") {
		o := check(t, "-H", "127.0.0.1", "-p", "1", "-t", "2", "--ca-file", h.Path)
		o.Expect(t, 3, "SMTP TLS UNKNOWN - --ca-file: "+h.Why+" (see check_smtp_tls --help)")
		if o.Elapsed > time.Second {
			t.Errorf("%s: took %v", h.Name, o.Elapsed)
		}
	}
}
