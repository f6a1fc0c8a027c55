package authcheck

import (
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// A password file or CA bundle that is not a regular file of sane size (a
// FIFO, /dev/zero, a directory, 200 MiB) is refused at once as a usage
// error, before anything is sent: never a hang, never blamed on the server.
func TestHostileFiles(t *testing.T) {
	pass := "file:" + secretFile(t, testPass)
	for _, h := range plugintest.HostileFiles(t, "a secret file", "64 KiB") {
		o := check(t, "-H", "127.0.0.1", "-p", "1", "-t", "2", "--user", testUser, "--password-ref", "file:"+h.Path)
		o.Expect(t, 3, "SMTP AUTH UNKNOWN - secret: --password-ref: file: "+h.Why)
		if o.Elapsed > time.Second {
			t.Errorf("--password-ref %s: took %v", h.Name, o.Elapsed)
		}
	}
	for _, h := range plugintest.HostileFiles(t, "--ca-file", "8 MiB") {
		o := check(t, "-H", "127.0.0.1", "-p", "1", "-t", "2", "--user", testUser, "--password-ref", pass, "--ca-file", h.Path)
		o.Expect(t, 3, "SMTP AUTH UNKNOWN - --ca-file: "+h.Why+" (see check_smtp_auth --help)")
		if o.Elapsed > time.Second {
			t.Errorf("--ca-file %s: took %v", h.Name, o.Elapsed)
		}
	}
}
