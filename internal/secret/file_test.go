package secret_test

import (
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// A file: reference or a token file that is not a regular file of at most
// 64 KiB is refused at once, before anything is read.
func TestFileNotRegularOrTooBig(t *testing.T) {
	o := &secret.Options{}
	ctx := secrettest.Ctx(t)
	for _, h := range plugintest.HostileFiles(t, "a secret file", "64 KiB") {
		start := time.Now()
		_, err := o.Resolve(ctx, "file:"+h.Path)
		secrettest.CheckErr(t, err, h.Why)
		if want := "file: " + h.Why; err != nil && err.Error() != want {
			t.Errorf("%s: got %q\nwant %q", h.Name, err, want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", h.Name, d)
		}
	}
	for _, h := range plugintest.HostileFiles(t, "--vault-token-file", "64 KiB") {
		_, err := secret.ReadPrivateFile("vault", h.Path, "--vault-token-file")
		if want := "vault: --vault-token-file " + h.Why; err == nil || err.Error() != want {
			t.Errorf("%s: got %v\nwant %q", h.Name, err, want)
		}
	}
}
