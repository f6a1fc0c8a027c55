package cloud

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

const (
	azToken   = "az-bearer-token-Ll8o"
	azHeader  = "identity-header-Pp0a"
	azVaultPW = "kv-s3cret-Rr2s"
)

// fakeKV is a STAND-IN for Azure Key Vault (no Azure service runs here):
// GET /secrets/NAME[/VERSION], with the bearer challenge Key Vault's
// clients expect: a request without a token gets 401 and a
// WWW-Authenticate that names the tenant and the resource.
type fakeKV struct {
	mu       sync.Mutex
	requests []string // "host path auth", in order
	stall    chan struct{}
}

func (f *fakeKV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	f.mu.Lock()
	f.requests = append(f.requests, r.Host+" "+r.URL.Path+" "+auth)
	f.mu.Unlock()
	if auth == "" {
		resource := "https://vault.azure.net"
		if strings.HasSuffix(r.Host, ".vault.azure.cn") {
			resource = "https://vault.azure.cn"
		}
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/00000000-1111-2222-3333-444444444444", resource="`+resource+`"`)
		kvError(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		return
	}
	if auth != "Bearer "+azToken {
		kvError(w, 401, "Unauthorized", "AKV10032: Invalid issuer.")
		return
	}
	switch strings.Trim(strings.TrimPrefix(r.URL.Path, "/secrets/"), "/") {
	case "smtp", "smtp/0123456789abcdef0123456789abcdef":
		writeJSON(w, 200, map[string]any{"value": azVaultPW, "id": "https://" + r.Host + "/secrets/smtp/0123456789abcdef0123456789abcdef",
			"attributes": map[string]any{"enabled": true}})
	case "missing":
		kvError(w, 404, "SecretNotFound", "A secret with (name/id) missing was not found in this key vault.")
	case "denied":
		kvError(w, 403, "Forbidden", "Caller is not authorized to perform action on resource.")
	case "echo": // hostile: what was sent comes back in the message
		kvError(w, 400, "BadParameter", "you sent "+auth)
	case "throttled":
		w.Header().Set("Retry-After", "30")
		kvError(w, 429, "Throttled", "Request was not processed because too many requests were received.")
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value": "half-` + azVaultPW))
	case "flood":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"value": "`))
		for range 4096 { // 4 MiB, ended by the client
			if _, err := w.Write([]byte(strings.Repeat("f", 1024))); err != nil {
				return
			}
		}
	case "stalled":
		select {
		case <-f.stall:
		case <-r.Context().Done():
		}
	default:
		kvError(w, 404, "SecretNotFound", "stand-in: no such test secret")
	}
}

func kvError(w http.ResponseWriter, code int, errCode, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": errCode, "message": msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeMI is a STAND-IN for an App Service managed identity endpoint
// (IDENTITY_ENDPOINT with IDENTITY_HEADER), on loopback.
type fakeMI struct {
	mu    sync.Mutex
	asked []string // resource of each request
}

func (f *fakeMI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.asked = append(f.asked, r.URL.Query().Get("resource"))
	f.mu.Unlock()
	if r.Header.Get("X-IDENTITY-HEADER") != azHeader || r.URL.Query().Get("client_id") == "refused-client" {
		writeJSON(w, 400, map[string]any{"error": "invalid_request", "error_description": "stand-in: identity not found"})
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": azToken, "token_type": "Bearer",
		"expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10), "resource": r.URL.Query().Get("resource")})
}

// startKV starts both stand-ins and points the real azsecrets and
// azidentity at them: the vault's names (*.vault.azure.net, .cn) are
// dialled at the stand-in, whose certificate a test CA signs; the
// managed identity is found by its environment variables.
func startKV(t *testing.T) (*fakeKV, *fakeMI) {
	t.Helper()
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, "AZURE_") || strings.HasPrefix(k, "IDENTITY_") || strings.HasPrefix(k, "MSI_") || k == "IMDS_ENDPOINT" {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("PATH", t.TempDir()) // no az, azd or pwsh to ask
	kv := &fakeKV{stall: make(chan struct{})}
	caPEM, cert := secrettest.CA(t, "*.vault.azure.net", "*.vault.azure.cn")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	srv := httptest.NewUnstartedServer(kv)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	mi := &fakeMI{}
	miSrv := httptest.NewServer(mi)
	t.Cleanup(func() { close(kv.stall); srv.Close(); miSrv.Close() })
	t.Setenv("IDENTITY_ENDPOINT", miSrv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", azHeader)

	var d net.Dialer
	azureTransport = &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if host, _, _ := net.SplitHostPort(addr); strings.HasSuffix(host, ".vault.azure.net") || strings.HasSuffix(host, ".vault.azure.cn") {
				addr = srv.Listener.Addr().String() // no DNS: the stand-in is the vault
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
	t.Cleanup(func() { azureTransport = nil })
	return kv, mi
}

const defaultVaultURL = "https://{vault}.vault.azure.net"

func TestAzure(t *testing.T) {
	kv, mi := startKV(t)
	o := secret.Options{AzureVaultURL: defaultVaultURL}
	cases := []struct {
		ref, want, err string
		notFound       bool
	}{
		{ref: "azure-kv:contoso-mon/smtp", want: azVaultPW},
		{ref: "azure-kv:contoso-mon/smtp/0123456789abcdef0123456789abcdef", want: azVaultPW},
		{ref: "azure-kv:contoso-mon/missing", notFound: true,
			err: "azure-kv: contoso-mon/missing: SecretNotFound (HTTP 404): A secret with (name/id) missing was not found in this key vault."},
		{ref: "azure-kv:contoso-mon/denied",
			err: "azure-kv: contoso-mon/denied: Forbidden (HTTP 403): Caller is not authorized to perform action on resource. (the identity needs the Key Vault Secrets User role, or a get permission in the vault's access policy)"},
		{ref: "azure-kv:contoso-mon/throttled",
			err: "azure-kv: contoso-mon/throttled: Throttled (HTTP 429): Request was not processed because too many requests were received. (rate limited: not retried, the next check asks again)"},
		{ref: "azure-kv:contoso-mon/flood", err: "azure-kv: contoso-mon/flood: https://contoso-mon.vault.azure.net: the answer is over 1 MiB: not a secret store's (a proxy or another service at the endpoint?)"},
		{ref: "azure-kv:contoso-mon/malformed", err: "azure-kv: contoso-mon/malformed: the answer is not Key Vault's JSON (a proxy or another service at https://contoso-mon.vault.azure.net?)"},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			before := len(kv.requests)
			got, err := resolve(secrettest.Ctx(t), o, c.ref)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
			} else {
				secrettest.CheckErr(t, err, c.err, azToken, azHeader, azVaultPW)
				if err.Error() != c.err {
					t.Errorf("error\n got  %s\n want %s", err, c.err)
				}
				if errors.Is(err, secret.ErrNotFound) != c.notFound {
					t.Errorf("ErrNotFound: %v, want %v", !c.notFound, c.notFound)
				}
			}
			// The challenge, then the request with the token: no retries.
			if reqs := kv.requests[before:]; len(reqs) != 2 || strings.HasSuffix(reqs[0], " ") == false || !strings.HasPrefix(reqs[0], "contoso-mon.vault.azure.net /secrets/") || !strings.HasSuffix(reqs[1], "Bearer "+azToken) {
				t.Errorf("requests: %q", reqs)
			}
		})
	}
	for _, r := range mi.asked {
		if r != "https://vault.azure.net" {
			t.Errorf("token asked for %q, want the challenge's resource", r)
		}
	}
	// A sovereign cloud: the URL from --azure-vault-url, the resource from
	// its challenge.
	got, err := resolve(secrettest.Ctx(t), secret.Options{AzureVaultURL: "https://{vault}.vault.azure.cn"}, "azure-kv:mon-cn/smtp")
	if err != nil || got != azVaultPW || !strings.HasPrefix(kv.requests[len(kv.requests)-1], "mon-cn.vault.azure.cn ") || mi.asked[len(mi.asked)-1] != "https://vault.azure.cn" {
		t.Errorf("azure.cn: %q, %v; %q %q", got, err, kv.requests, mi.asked)
	}
	// The vault must name a resource of its own domain (the SDK's check):
	// a vault in .cn whose challenge said .net would get no token.
	_, err = resolve(secrettest.Ctx(t), secret.Options{AzureVaultURL: "http://127.0.0.1:1/{vault}"}, "azure-kv:mon/smtp")
	secrettest.CheckErr(t, err, `azure-kv: mon/smtp: --azure-vault-url "http://127.0.0.1:1/mon": want an https:// URL, e.g. https://{vault}.vault.azure.net`)
}

// TestAzureCredential: the managed identity refuses, or is switched off
// (and nothing else gives a token): one line that says no token. MSAL
// keeps managed identity tokens for the process, by identity: each case
// that must not find one asks for an identity of its own (AZURE_CLIENT_ID).
func TestAzureCredential(t *testing.T) {
	kv, mi := startKV(t)
	t.Setenv("AZURE_CLIENT_ID", "refused-client")
	_, err := resolve(secrettest.Ctx(t), secret.Options{AzureVaultURL: defaultVaultURL}, "azure-kv:contoso-mon/smtp")
	secrettest.CheckErr(t, err, "azure-kv: contoso-mon/smtp: no token: ", azToken, azHeader)
	t.Logf("%s", err)
	t.Setenv("AZURE_CLIENT_ID", "unused-client")
	asked := len(mi.asked)
	_, err = resolve(secrettest.Ctx(t), secret.Options{AzureVaultURL: defaultVaultURL, AzureNoManagedID: true}, "azure-kv:contoso-mon/smtp")
	secrettest.CheckErr(t, err, "azure-kv: contoso-mon/smtp: no token: ", azToken, azHeader)
	t.Logf("%s", err)
	if len(mi.asked) != asked {
		t.Errorf("--azure-no-managed-identity: the managed identity was asked")
	}
	if n := len(kv.requests); n != 2 {
		t.Errorf("%d vault requests, want the 2 challenges", n)
	}
}

// TestAzureDeadline: a stalled vault and a stalled managed identity
// endpoint end at the deadline.
func TestAzureDeadline(t *testing.T) {
	_, _ = startKV(t)
	stalledMI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer stalledMI.Close()
	for _, c := range []struct{ name, ref, identity, want string }{
		{"vault", "azure-kv:contoso-mon/stalled", "", "azure-kv: contoso-mon/stalled: GET https://contoso-mon.vault.azure.net: no answer within the plugin's timeout (-t)"},
		{"identity", "azure-kv:contoso-mon/smtp", stalledMI.URL, "azure-kv: contoso-mon/smtp: getting a token (managed identity, Azure CLI, ...; --azure-no-managed-identity skips the instance metadata endpoint): no answer within the plugin's timeout (-t)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.identity != "" {
				t.Setenv("IDENTITY_ENDPOINT", c.identity)
				t.Setenv("AZURE_CLIENT_ID", "stalled-client") // no token cached for it
			}
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := resolve(ctx, secret.Options{AzureVaultURL: defaultVaultURL}, c.ref)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("ended after %v, the deadline was 700ms", d)
			}
			secrettest.CheckErr(t, err, c.want, azToken)
			if err.Error() != c.want || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v", err)
			}
		})
	}
}

func TestAzureRefs(t *testing.T) {
	const not = "malformed reference, not shown (it may be a password typed in its place): want azure-kv:VAULT/NAME or azure-kv:VAULT/NAME/VERSION"
	for _, ref := range []string{"azure-kv:vault", "azure-kv:ab/name", "azure-kv:vault/", "azure-kv:vault/na_me", "azure-kv:vault/name/ver-sion",
		"azure-kv:vault/name/v/x", "azure-kv:" + strings.Repeat("v", 25) + "/name", "azure-kv:vault/" + strings.Repeat("n", 128)} {
		_, err := resolve(secrettest.Ctx(t), secret.Options{}, ref)
		if err == nil || !strings.Contains(err.Error(), not) {
			t.Errorf("%q: %v", ref, err)
		}
	}
}
