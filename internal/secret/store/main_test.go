package store

import (
	"os"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// The tests resolve references through secret.Options.Resolve, as the
// plugins do, with the stores read in-process; helper_test.go runs the
// real helper program instead.
func TestMain(m *testing.M) {
	secret.Remote = Read
	os.Exit(m.Run())
}
