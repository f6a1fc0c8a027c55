package cloud

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// buildHelpers builds smtpcheck-secret and smtpcheck-secret-cloud side by
// side, as installed, and returns the directory.
func buildHelpers(t *testing.T, names ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the helper programs")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // the helpers' trust check
		t.Fatal(err)
	}
	for _, name := range names {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/smtpcheck/smtpcheck/plugins/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", name, err, out)
		}
		if err := os.Chmod(bin, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCloudHelper: a plugin's aws-sm: read goes to smtpcheck-secret, which
// hands it to smtpcheck-secret-cloud beside it: the same value, the same
// error line, errors.Is intact, the deadline kept through both; without
// the cloud helper, a line that says what is missing.
func TestCloudHelper(t *testing.T) {
	dir := buildHelpers(t, secret.HelperName, secret.CloudHelperName)
	f, _ := startSM(t)
	via := secret.Options{Store: secret.Helper(filepath.Join(dir, secret.HelperName))}
	ctx := secrettest.Ctx(t)
	if got, err := via.Resolve(ctx, "aws-sm:prod/json#password"); err != nil || got != "json-s3cret-Uu6i" {
		t.Fatalf("through the helpers: %q, %v", got, err)
	}
	_, err := via.Resolve(ctx, "aws-sm:missing")
	_, inErr := resolve(ctx, secret.Options{}, "aws-sm:missing")
	if err == nil || inErr == nil || err.Error() != inErr.Error() || !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("helper %v\nin-process %v", err, inErr)
	}
	if n := len(f.auth); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}

	short, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = via.Resolve(short, "aws-sm:stalled")
	if d := time.Since(start); d > 1200*time.Millisecond {
		t.Errorf("ended after %v, the deadline was 900ms", d)
	}
	want := "aws-sm: stalled in eu-west-1: no answer within the plugin's timeout (-t)"
	if err == nil || err.Error() != want || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stalled: %v\nwant %s", err, want)
	}

	alone := buildHelpers(t, secret.HelperName)
	_, err = (&secret.Options{Store: secret.Helper(filepath.Join(alone, secret.HelperName))}).Resolve(ctx, "azure-kv:mon/smtp")
	want = "azure-kv: mon/smtp: smtpcheck-secret-cloud, which reads aws-sm: and azure-kv: references, is not installed as " +
		filepath.Join(alone, secret.CloudHelperName) + " (it belongs beside the plugins; reinstall smtpcheck)"
	if err == nil || err.Error() != want {
		t.Errorf("no cloud helper:\n got  %v\n want %s", err, want)
	}
	// It reads only its own references.
	out, err := exec.Command(filepath.Join(dir, secret.CloudHelperName)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "want a request from a plugin on stdin") {
		t.Errorf("no request: %v %s", err, out)
	}
}
