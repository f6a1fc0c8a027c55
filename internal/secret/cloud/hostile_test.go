package cloud

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// TestCapText: a token that straddles the cap is scrubbed whole, not cut
// first and its start kept; the cut falls between characters; a
// terminal's escapes do not pass.
func TestCapText(t *testing.T) {
	var scrub redact.Set
	token := strings.Repeat("T0k", 100) // a session token is hundreds long
	scrub.Add(token)
	got := capText(&scrub, strings.Repeat("a", 200)+" "+token)
	if want := strings.Repeat("a", 200) + " " + redact.Redacted; got != want {
		t.Errorf("straddling token:\n got  %q\n want %q", got, want)
	}
	got = capText(nil, "x"+strings.Repeat("é", 200))
	if want := "x" + strings.Repeat("é", 119) + "..."; got != want {
		t.Errorf("cut inside a character: %q", got)
	}
	if got, want := capText(nil, "evil\x1b[31mred\x07\r\nOK\x00"), "evil?[31mred? OK?"; got != want {
		t.Errorf("control characters: %q, want %q", got, want)
	}
}

// TestAWSEchoedSignature: a STAND-IN endpoint echoes the SigV4 signature
// alone, and the session token past the message's cap: neither shows.
func TestAWSEchoedSignature(t *testing.T) {
	token := "aws-long-session-" + strings.Repeat("Zz9", 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sig, _ := strings.Cut(r.Header.Get("Authorization"), "Signature=")
		w.Header().Set("X-Amzn-ErrorType", "ValidationException")
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"__type":"ValidationException","message":"sig ` + sig + " " + strings.Repeat("p", 200) + " " + r.Header.Get("X-Amz-Security-Token") + `"}`))
	}))
	defer srv.Close()
	awsEnv(t, srv.URL)
	t.Setenv("AWS_SESSION_TOKEN", token)
	_, err := resolve(secrettest.Ctx(t), secret.Options{}, "aws-sm:prod/smtp")
	want := "aws-sm: prod/smtp: ValidationException (HTTP 400): sig " + redact.Redacted + " " + strings.Repeat("p", 200) + " " + redact.Redacted
	secrettest.CheckErr(t, err, want[:200], token[:40], "Signature")
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
}

// TestAWSIMDSNotRetried: with no credentials, a STAND-IN instance metadata
// service that fails is asked once per step, not retried for seconds.
func TestAWSIMDSNotRetried(t *testing.T) {
	var asked atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "stand-in: broken", http.StatusInternalServerError)
	}))
	defer imds.Close()
	awsEnv(t, "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	_, err := resolve(secrettest.Ctx(t), secret.Options{}, "aws-sm:prod/smtp")
	secrettest.CheckErr(t, err, "aws-sm: prod/smtp: no credentials: ")
	if n := asked.Load(); n > 2 {
		t.Errorf("the instance metadata service was asked %d times, want at most 2 (the token, then the role)", n)
	}
}

// TestAzureNoRedirect: a vault that redirects to http:// on its own host
// gets no second request, so the token never travels in clear; the
// managed identity's secret, echoed by its endpoint, does not show.
func TestAzureNoRedirect(t *testing.T) {
	_, _ = startKV(t)
	var plain atomic.Int32
	plainSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain.Add(1)
		writeJSON(w, 200, map[string]any{"value": "redirected"})
	}))
	defer plainSrv.Close()
	redirect := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plainSrv.URL+r.URL.Path, http.StatusFound)
	}))
	defer redirect.Close()
	azureTransport = redirect.Client()
	_, err := resolve(secrettest.Ctx(t), secret.Options{AzureVaultURL: redirect.URL}, "azure-kv:contoso-mon/smtp")
	want := "azure-kv: contoso-mon/smtp: error (HTTP 302) (a redirect, which Key Vault never sends: not followed; check --azure-vault-url)"
	if err == nil || err.Error() != want || plain.Load() != 0 {
		t.Errorf("got %v (%d requests over http)\nwant %s", err, plain.Load(), want)
	}

	_, _ = startKV(t)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "got " + r.Header.Get("X-IDENTITY-HEADER")})
	}))
	defer echo.Close()
	t.Setenv("IDENTITY_ENDPOINT", echo.URL)
	t.Setenv("AZURE_CLIENT_ID", "echo-client") // no token cached for it
	_, err = resolve(secrettest.Ctx(t), secret.Options{AzureVaultURL: defaultVaultURL}, "azure-kv:contoso-mon/smtp")
	want = "azure-kv: contoso-mon/smtp: no token: the token endpoint answered HTTP 400: invalid_request: got " + redact.Redacted
	secrettest.CheckErr(t, err, want, azHeader)
}
