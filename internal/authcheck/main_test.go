package authcheck

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/store"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testUser = "mon@lab.test"
	testPass = "s3cret-Pass-42"
)

// check runs check_smtp_auth in-process, the way main runs it. The stores
// (OAuth token endpoints here) are read in-process, as the helper program
// does; internal/secret/store tests the helper itself.
func check(t *testing.T, args ...string) plugintest.Outcome {
	t.Helper()
	return plugintest.Run(t, Name, Service, &Options{Options: secret.Options{Store: store.Read}}, Check, args...)
}

// pki is a test CA and a server certificate for 127.0.0.1 and localhost.
type pki struct {
	cfg    *tls.Config
	caFile string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	ca := smtptest.MustNewCA(t, "smtpcheck auth test CA")
	cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	return pki{cfg: &tls.Config{Certificates: []tls.Certificate{cert}}, caFile: caFile}
}

// secretFile writes a 0600 file holding s and returns its path.
func secretFile(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func hostArgs(port int, extra ...string) []string {
	return append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "5"}, extra...)
}

var regexpNum = regexp.MustCompile(`=[0-9.]+s`)

func itoa(n int) string { return strconv.Itoa(n) }
