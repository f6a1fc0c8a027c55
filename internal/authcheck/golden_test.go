package authcheck

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

var dateRe = regexp.MustCompile(`\d{4}-\d\d-\d\d`)

// TestGolden compares whole outputs, transcript and perfdata included, with
// testdata/*.golden (go test -run TestGolden -update rewrites them): the
// redacted AUTH exchange is part of what is pinned.
func TestGolden(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, AuthRequiresTLS: true, Users: map[string]string{testUser: testPass}})
	wrong := secretFile(t, "wrong-"+testPass)
	for _, name := range []string{"login-refused-verbose", "login-refused-json"} {
		t.Run(name, func(t *testing.T) {
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "5", "-F", "golden.test", "--ca-file", p.caFile,
				"--mech", "LOGIN", "--user", testUser, "--password-ref", "file:" + wrong, "-v"}
			if strings.HasSuffix(name, "json") {
				args = append(args, "--output", "json")
			}
			out := check(t, args...).Out
			got := strings.ReplaceAll(out, strconv.Itoa(srv.Port), "PORT")
			got = strings.ReplaceAll(got, p.caFile, "CAFILE")
			got = dateRe.ReplaceAllString(got, "DATE") // the test certificate's expiry moves daily
			plugintest.Golden(t, name, plugintest.MaskValues(got))
		})
	}
}
