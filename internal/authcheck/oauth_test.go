package authcheck

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testClientID     = "0f3c-client-id"
	testClientSecret = "cl13nt~S3cret.Value_99"
)

// tokenEndpoint is an OAuth 2 token endpoint granting testToken to the
// right client; a request it did not like is counted and refused.
func tokenEndpoint(t *testing.T, bad *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodPost || r.ParseForm() != nil || r.PostForm.Get("grant_type") != "client_credentials" ||
			r.PostForm.Get("scope") != "https://outlook.office365.com/.default" || r.PostForm.Get("client_id") != testClientID {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"AADSTS900144: bad request"}`))
			return
		}
		if r.PostForm.Get("client_secret") != testClientSecret {
			w.WriteHeader(http.StatusUnauthorized)
			// a careless endpoint that echoes what it got
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: ` + r.PostForm.Get("client_secret") + `\r\nTrace ID: 1"}`))
			return
		}
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"` + testToken + `"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOAuthClientCredentials(t *testing.T) {
	p := newPKI(t)
	var bad atomic.Int32
	tokens := tokenEndpoint(t, &bad)
	smtpSrv := authServer(t, p, "PLAIN LOGIN XOAUTH2", oauthServer("XOAUTH2", xoauth2IR, ""))
	t.Setenv("SMTPCHECK_TEST_CLIENT_SECRET", testClientSecret)
	t.Setenv("SMTPCHECK_TEST_WRONG_SECRET", "not-"+testClientSecret)
	t.Setenv("SMTPCHECK_TEST_CLIENT_ID", testClientID)
	base := func(secretVar string, extra ...string) []string {
		return hostArgs(smtpSrv.Port, append([]string{"--ca-file", p.caFile, "--user", testUser,
			"--oauth-token-url", tokens.URL + "/oauth2/v2.0/token", "--oauth-client-id-ref", "env:SMTPCHECK_TEST_CLIENT_ID",
			"--oauth-client-secret-ref", "env:" + secretVar, "--oauth-scope", "https://outlook.office365.com/.default"}, extra...)...)
	}

	o := check(t, base("SMTPCHECK_TEST_CLIENT_SECRET", "-v")...)
	o.Expect(t, 0, "SMTP AUTH OK - "+smtpSrv.Addr+" accepted mon@lab.test with XOAUTH2 in T s (STARTTLS TLSv1.3)")
	o.Contains(t, "* OAuth token endpoint "+tokens.URL+"/oauth2/v2.0/token answered HTTP 200 in ")
	if bad.Load() != 0 {
		t.Errorf("the token endpoint saw %d bad requests", bad.Load())
	}

	o = check(t, base("SMTPCHECK_TEST_WRONG_SECRET", "-vvv")...)
	o.Expect(t, 3, "SMTP AUTH UNKNOWN - oauth: token endpoint "+tokens.URL+"/oauth2/v2.0/token refused (HTTP 401): invalid_client: AADSTS7000215: Invalid client secret provided: <redacted>")
	if strings.Contains(o.Out, "not-"+testClientSecret) || strings.Contains(o.Out, testClientSecret) {
		t.Errorf("client secret in the output:\n%s", o.Out)
	}

	// The token endpoint hangs: the one deadline ends the run in time.
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	o = check(t, "-H", "127.0.0.1", "-p", itoa(smtpSrv.Port), "-t", "1", "--user", testUser, "--oauth-token-url", hang.URL,
		"--oauth-client-id-ref", "env:SMTPCHECK_TEST_CLIENT_ID", "--oauth-client-secret-ref", "env:SMTPCHECK_TEST_CLIENT_SECRET")
	o.Expect(t, 2, "SMTP AUTH CRITICAL - oauth: token endpoint "+hang.URL+": no answer within the plugin's timeout (-t)")
	o.Within(t, time.Second)

	// Nothing listens: UNKNOWN, the check could not be done.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	o = check(t, "-H", "127.0.0.1", "-p", itoa(smtpSrv.Port), "--user", testUser, "--oauth-token-url", deadURL,
		"--oauth-client-id-ref", "env:SMTPCHECK_TEST_CLIENT_ID", "--oauth-client-secret-ref", "env:SMTPCHECK_TEST_CLIENT_SECRET")
	if o.Code != 3 || !strings.HasPrefix(o.Status(), "SMTP AUTH UNKNOWN - oauth: token endpoint "+deadURL+": dial tcp ") {
		t.Errorf("dead endpoint: exit %d, %s", o.Code, o.Out)
	}
}
