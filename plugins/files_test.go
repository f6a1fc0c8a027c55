package plugins

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
)

// TestHostileFilesBinary runs the real check_smtp_conn on files that once
// hung it (no output, killed by the engine) or swamped its memory: each is
// refused with one UNKNOWN line, well within -t.
func TestHostileFilesBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin")
	}
	bin := buildPlugin(t, t.TempDir(), "check_smtp_conn")
	run := func(env []string, args ...string) (string, int, time.Duration) {
		cmd := exec.Command(bin, append([]string{"-H", "127.0.0.1", "-p", "1", "-t", "2"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		start := time.Now()
		out, err := cmd.Output()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		status, _, _ := strings.Cut(string(out), " | ")
		return status, code, time.Since(start)
	}
	for _, h := range plugintest.HostileFiles(t, "--ca-file", "8 MiB") {
		status, code, took := run(nil, "-S", "--ca-file", h.Path)
		if want := "SMTP UNKNOWN - --ca-file: " + h.Why + " (see check_smtp_conn --help)"; code != 3 || status != want || took > time.Second {
			t.Errorf("--ca-file %s: exit %d after %v\ngot  %s\nwant %s", h.Name, code, took, status, want)
		}
	}
	fifo := plugintest.HostileFiles(t, "--extra-opts", "1 MiB")[0]
	status, code, took := run([]string{"MP_CONFIG_FILE=" + fifo.Path}, "--extra-opts")
	want := "SMTP UNKNOWN - --extra-opts: " + fifo.Path + " (from $MP_CONFIG_FILE): a named pipe (FIFO), not a regular file; give the path of a regular file (see check_smtp_conn --help)"
	if code != 3 || status != want || took > time.Second {
		t.Errorf("MP_CONFIG_FILE FIFO: exit %d after %v\ngot  %s\nwant %s", code, took, status, want)
	}
}
