package authcheck

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

func TestConnectionFailures(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	pass := "file:" + secretFile(t, testPass)
	o := check(t, hostArgs(port, "--user", testUser, "--password-ref", pass)...)
	o.Expect(t, 2, "SMTP AUTH CRITICAL - connect: connection refused (127.0.0.1:"+itoa(port)+") - is the MTA running and listening on this address and port?")

	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { c.Hang() })
	o = check(t, "-H", "127.0.0.1", "-p", itoa(srv.Port), "-t", "1", "--user", testUser, "--password-ref", pass)
	o.Expect(t, 2, "SMTP AUTH CRITICAL - banner: no answer within the 1 s timeout ("+srv.Addr+") - the server is overloaded or tarpitting, or this port wants implicit TLS (-s)")
	o.Within(t, time.Second)

	busy := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { _ = c.Send("421 4.3.2 mx.test busy, try later") })
	o = check(t, hostArgs(busy.Port, "--user", testUser, "--password-ref", pass)...)
	// A 421 greeting: the service is unavailable, as in every plugin (plugin.FailureState).
	o.Expect(t, 2, `SMTP AUTH CRITICAL - banner: "421 4.3.2 mx.test busy, try later" (`+busy.Addr+`) - the server is closing the connection (overload, shutdown or rate limit): retry later, look at its log`)
}

func TestSecretFileTooOpen(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(p, []byte(testPass), 0o644); err != nil {
		t.Fatal(err)
	}
	o := check(t, "-p", "1", "--user", testUser, "--password-ref", "file:"+p)
	if o.Code != 3 || !strings.HasPrefix(o.Status(), "SMTP AUTH UNKNOWN - secret: --password-ref: file: "+p) {
		t.Errorf("exit %d:\n%s", o.Code, o.Out)
	}
	if strings.Contains(o.Out, testPass) {
		t.Errorf("the password is in the output:\n%s", o.Out)
	}
}

// A token without a user can only go with OAUTHBEARER (XOAUTH2 names the user).
func TestTokenWithoutUser(t *testing.T) {
	p := newPKI(t)
	want := "n,,\x01host=127.0.0.1\x01port={port}\x01auth=Bearer " + testToken + "\x01\x01"
	srv := authServer(t, p, "XOAUTH2 OAUTHBEARER", oauthServer("OAUTHBEARER", want, "\x01"))
	o := check(t, hostArgs(srv.Port, "--ca-file", p.caFile, "--token-ref", "file:"+secretFile(t, testToken))...)
	o.Expect(t, 0, "SMTP AUTH OK - "+srv.Addr+" accepted the token with OAUTHBEARER in T s (STARTTLS TLSv1.3)")
}

func TestTokenEndpointOddAnswers(t *testing.T) {
	t.Setenv("SMTPCHECK_TEST_CLIENT_ID", testClientID)
	t.Setenv("SMTPCHECK_TEST_CLIENT_SECRET", testClientSecret)
	cases := []struct {
		code int
		body string
		want string
	}{
		{200, `<html>login</html>`, "the answer is not JSON"},
		{200, `{"token_type":"Bearer"}`, "no access_token in the answer"},
		{200, `{"token_type":"mac","access_token":"x"}`, `token_type "mac", want Bearer`},
		{500, `oops`, "answered HTTP 500"},
	}
	for _, tc := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.code)
			_, _ = w.Write([]byte(tc.body))
		}))
		o := check(t, "-p", "1", "--user", testUser, "--oauth-token-url", srv.URL,
			"--oauth-client-id-ref", "env:SMTPCHECK_TEST_CLIENT_ID", "--oauth-client-secret-ref", "env:SMTPCHECK_TEST_CLIENT_SECRET")
		o.Expect(t, 3, "SMTP AUTH UNKNOWN - oauth: token endpoint "+srv.URL+": "+strings.TrimPrefix(tc.want, ": "))
		srv.Close()
	}
}

// The password reference can live in a monitoring-plugins ini section.
func TestExtraOpts(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, Users: map[string]string{testUser: testPass}})
	ini := filepath.Join(t.TempDir(), "plugins.ini")
	content := "[check_smtp_auth]\nhostname = 127.0.0.1\nport = " + itoa(srv.Port) + "\nca-file = " + p.caFile +
		"\nuser = " + testUser + "\npassword-ref = file:" + secretFile(t, testPass) + "\nmech = LOGIN\n"
	if err := os.WriteFile(ini, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	o := check(t, "--extra-opts=@"+ini, "-t", "5")
	o.Expect(t, 0, "SMTP AUTH OK - "+srv.Addr+" accepted mon@lab.test with LOGIN in T s (STARTTLS TLSv1.3)")
}

// A literal password from an ini file is not on the command line: no note.
func TestPasswordNoteOnlyFromArgv(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, Users: map[string]string{testUser: testPass}})
	ini := filepath.Join(t.TempDir(), "plugins.ini")
	if err := os.WriteFile(ini, []byte("[check_smtp_auth]\nauthpass = "+testPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const note = "note: -P puts the password on the command line"
	args := []string{"-H", "127.0.0.1", "-p", itoa(srv.Port), "--ca-file", p.caFile, "-U", testUser, "-m", "PLAIN", "-t", "5"}
	o := check(t, append(args, "--extra-opts=@"+ini)...)
	o.Expect(t, 0, "SMTP AUTH OK - "+srv.Addr+" accepted mon@lab.test with PLAIN in T s (STARTTLS TLSv1.3)")
	if strings.Contains(o.Out, note) {
		t.Errorf("note for a password from the ini file:\n%s", o.Out)
	}
	o = check(t, append(args, "-P", testPass)...)
	o.Contains(t, note)
}
