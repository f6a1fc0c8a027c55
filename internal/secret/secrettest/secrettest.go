// Package secrettest holds the assertions the tests of package secret and
// its stores share: every error is one line, wraps secret.ErrSecret and
// carries no secret, plain or in base64.
package secrettest

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// SkipUnlessReal skips a test whose real backend is missing here, and
// fails it in CI (SMTPCHECK_REQUIRE_REAL=1), where the backend must run.
func SkipUnlessReal(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("SMTPCHECK_REQUIRE_REAL") == "1" {
		t.Fatalf("SMTPCHECK_REQUIRE_REAL=1 but: %s", why)
	}
	t.Skip(why)
}

// Ctx is a context that ends with the test, at most 10 s from now.
func Ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// CheckErr asserts the shape every error of package secret has, and that
// it contains want.
func CheckErr(t *testing.T, err error, want string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !errors.Is(err, secret.ErrSecret) {
		t.Errorf("error does not wrap ErrSecret: %v", err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
	AssertNoLeak(t, msg, secrets...)
}

// AssertNoLeak fails when msg holds a secret or its base64 forms.
func AssertNoLeak(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(msg, form) {
				t.Errorf("error leaks a secret (%q) in %q", form, msg)
			}
		}
	}
}

// WriteFile writes content to a new file with mode and returns its path.
func WriteFile(t *testing.T, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}
