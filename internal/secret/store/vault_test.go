package store

// The Vault server in these tests is a STAND-IN: no Vault (nor OpenBao)
// server can run on this build host (no Debian package, and the server does
// not build from Go modules). fakeVault implements only the endpoints this
// package calls, with the JSON shapes and status codes Vault uses, and it is
// driven through the real github.com/hashicorp/vault/api client:
//
//	GET  /v1/sys/internal/ui/mounts/<path>   engine version and mount path
//	GET  /v1/<mount>/data/<path>             KV v2 read
//	GET  /v1/<mount>/<path>                  KV v1 read
//	POST /v1/auth/<approle mount>/login      AppRole login → auth.client_token
//	GET  /v1/auth/token/lookup-self          token lookup (403 hint)
//	POST /v1/auth/token/revoke-self          revoke the AppRole token
//
// It checks X-Vault-Token and X-Vault-Namespace on every request.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

type fakeVault struct {
	mu           sync.Mutex
	tokens       map[string]bool           // valid tokens
	namespace    string                    // required X-Vault-Namespace ("" = root)
	mounts       map[string]int            // mount path → KV version
	data         map[string]map[string]any // "mount/path" → fields
	denied       map[string]bool           // API paths the token's policy denies
	status       map[string]int            // API path → forced status (503 ...)
	noPreflight  bool                      // sys/internal/ui/mounts answers 403
	stall        bool                      // every request waits for the client to give up
	approleMount string
	roleID       string
	secretID     string
	approleToken string
	revoked      []string
	requests     []string // "METHOD /v1/path token"
}

func newFakeVault() *fakeVault {
	return &fakeVault{
		tokens: map[string]bool{"hvs.roottoken-xyz": true},
		mounts: map[string]int{"secret": 2, "kv1": 1, "kv/team": 1},
		data: map[string]map[string]any{
			"secret/monitoring/smtp": {"username": "mon@example.org", "password": "s3cr3t-v2-value"},
			"secret/numeric":         {"password": 12345},
			"kv1/monitoring/smtp":    {"username": "mon1", "password": "s3cr3t-v1-value"},
			"kv/team/smtp":           {"password": "s3cr3t-team-value"},
		},
		denied:       map[string]bool{},
		status:       map[string]int{},
		approleMount: "approle",
		roleID:       "role-id-0f1e2d",
		secretID:     "secret-id-9a8b7c",
		approleToken: "hvs.fromapprole-abc",
	}
}

var fakeVaultSecrets = []string{"s3cr3t-v2-value", "s3cr3t-v1-value", "s3cr3t-team-value", "hvs.roottoken-xyz", "role-id-0f1e2d", "secret-id-9a8b7c", "hvs.fromapprole-abc", "12345"}

func (f *fakeVault) count(prefix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// vaultErrors is Vault's error body; Vault wraps messages with go-multierror.
func vaultErrors(w http.ResponseWriter, code int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	writeJSON(w, code, map[string]any{"errors": msgs})
}

func (f *fakeVault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	tok := r.Header.Get("X-Vault-Token")
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+" "+tok)
	stall := f.stall
	f.mu.Unlock()
	if stall {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()

	if r.Header.Get("X-Vault-Namespace") != f.namespace {
		vaultErrors(w, 403, "1 error occurred:\n\t* permission denied\n\n")
		return
	}
	if code, ok := f.status[path]; ok {
		vaultErrors(w, code, "Vault is sealed")
		return
	}
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && path == "auth/"+f.approleMount+"/login" {
		var body struct {
			RoleID   string `json:"role_id"`
			SecretID string `json:"secret_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.RoleID != f.roleID || body.SecretID != f.secretID {
			vaultErrors(w, 400, "invalid role or secret ID")
			return
		}
		f.tokens[f.approleToken] = true
		writeJSON(w, 200, map[string]any{"auth": map[string]any{
			"client_token": f.approleToken, "accessor": "acc", "policies": []string{"smtp"},
			"lease_duration": 60, "renewable": true,
		}})
		return
	}
	if !f.tokens[tok] {
		vaultErrors(w, 403, "permission denied")
		return
	}
	switch {
	case r.Method == http.MethodGet && path == "auth/token/lookup-self":
		writeJSON(w, 200, map[string]any{"data": map[string]any{"policies": []string{"smtp"}, "ttl": 60}})
		return
	case (r.Method == http.MethodPost || r.Method == http.MethodPut) && path == "auth/token/revoke-self":
		f.revoked = append(f.revoked, tok)
		delete(f.tokens, tok)
		w.WriteHeader(204)
		return
	case r.Method != http.MethodGet:
		vaultErrors(w, 405, "unsupported operation")
		return
	}
	if f.denied[path] {
		vaultErrors(w, 403, "1 error occurred:\n\t* permission denied\n\n")
		return
	}
	if p, ok := strings.CutPrefix(path, "sys/internal/ui/mounts/"); ok {
		if f.noPreflight {
			vaultErrors(w, 403, "1 error occurred:\n\t* permission denied\n\n")
			return
		}
		mount, version := f.mountOf(p)
		if mount == "" {
			vaultErrors(w, 400, "no mount")
			return
		}
		opts := map[string]any{"version": "1"}
		if version == 2 {
			opts["version"] = "2"
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{"path": mount + "/", "type": "kv", "options": opts}})
		return
	}
	mount, version := f.mountOf(path)
	if mount == "" {
		vaultErrors(w, 404, "no handler for route \""+path+"\"")
		return
	}
	rel := strings.TrimPrefix(path, mount+"/")
	if version == 2 {
		p, ok := strings.CutPrefix(rel, "data/")
		d, found := f.data[mount+"/"+p]
		if !ok || !found {
			vaultErrors(w, 404)
			return
		}
		writeJSON(w, 200, map[string]any{"data": map[string]any{
			"data":     d,
			"metadata": map[string]any{"version": 3, "created_time": "2026-01-02T03:04:05Z", "deletion_time": "", "destroyed": false},
		}})
		return
	}
	d, found := f.data[mount+"/"+rel]
	if !found {
		vaultErrors(w, 404)
		return
	}
	writeJSON(w, 200, map[string]any{"data": d, "lease_duration": 2764800})
}

// mountOf finds the longest mount that p lies under.
func (f *fakeVault) mountOf(p string) (string, int) {
	best, v := "", 0
	for m, ver := range f.mounts {
		if strings.HasPrefix(p, m+"/") && len(m) > len(best) {
			best, v = m, ver
		}
	}
	return best, v
}

// vaultEnv clears every VAULT_* variable the client reads and points it at addr.
func vaultEnv(t *testing.T, addr, token string) {
	t.Helper()
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, "VAULT_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("VAULT_ADDR", addr)
	t.Setenv("VAULT_TOKEN", token)
}

func startFake(t *testing.T, f *fakeVault) *httptest.Server {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func TestVaultKV(t *testing.T) {
	cases := []struct {
		name, kv, ref, want string
		noPreflight         bool
		wantRequests        []string
	}{
		{name: "v2 detected", kv: "auto", ref: "vault:secret/monitoring/smtp#password", want: "s3cr3t-v2-value",
			wantRequests: []string{"GET /v1/sys/internal/ui/mounts/secret/monitoring/smtp", "GET /v1/secret/data/monitoring/smtp"}},
		{name: "v1 detected", kv: "auto", ref: "vault:kv1/monitoring/smtp#password", want: "s3cr3t-v1-value",
			wantRequests: []string{"GET /v1/sys/internal/ui/mounts/kv1/monitoring/smtp", "GET /v1/kv1/monitoring/smtp"}},
		{name: "v2 forced", kv: "2", ref: "vault:secret/monitoring/smtp#username", want: "mon@example.org",
			wantRequests: []string{"GET /v1/secret/data/monitoring/smtp"}},
		{name: "v1 forced", kv: "1", ref: "vault:kv1/monitoring/smtp#username", want: "mon1",
			wantRequests: []string{"GET /v1/kv1/monitoring/smtp"}},
		{name: "default field password", kv: "auto", ref: "vault:secret/monitoring/smtp", want: "s3cr3t-v2-value"},
		{name: "two-segment mount detected", kv: "auto", ref: "vault:kv/team/smtp#password", want: "s3cr3t-team-value",
			wantRequests: []string{"GET /v1/sys/internal/ui/mounts/kv/team/smtp", "GET /v1/kv/team/smtp"}},
		{name: "preflight refused, v2 first", kv: "auto", noPreflight: true, ref: "vault:secret/monitoring/smtp#password", want: "s3cr3t-v2-value",
			wantRequests: []string{"GET /v1/sys/internal/ui/mounts/secret/monitoring/smtp", "GET /v1/secret/data/monitoring/smtp"}},
		{name: "preflight refused, v1 after v2", kv: "auto", noPreflight: true, ref: "vault:kv1/monitoring/smtp#password", want: "s3cr3t-v1-value",
			wantRequests: []string{"GET /v1/sys/internal/ui/mounts/kv1/monitoring/smtp", "GET /v1/kv1/data/monitoring/smtp", "GET /v1/kv1/monitoring/smtp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeVault()
			f.noPreflight = c.noPreflight
			srv := startFake(t, f)
			vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
			o := &secret.Options{Store: Read, VaultKV: c.kv}
			got, err := o.Resolve(secrettest.Ctx(t), c.ref)
			if err != nil || got != c.want {
				t.Fatalf("Resolve(%s) = %q, %v", c.ref, got, err)
			}
			if c.wantRequests != nil {
				var paths []string
				for _, r := range f.requests {
					m, rest, _ := strings.Cut(r, " ")
					p, _, _ := strings.Cut(rest, " ")
					paths = append(paths, m+" "+p)
				}
				if strings.Join(paths, "\n") != strings.Join(c.wantRequests, "\n") {
					t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(paths, "\n"), strings.Join(c.wantRequests, "\n"))
				}
			}
		})
	}
}

func TestVaultLogin(t *testing.T) {
	f := newFakeVault()
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
	o := &secret.Options{Store: Read, VaultKV: "auto"}
	ctx := secrettest.Ctx(t)
	user, pw, err := o.ResolveLogin(ctx, "vault:secret/monitoring/smtp")
	if err != nil || user != "mon@example.org" || pw != "s3cr3t-v2-value" {
		t.Fatalf("ResolveLogin = %q, %q, %v", user, pw, err)
	}
	user, pw, err = o.ResolveLogin(ctx, "vault:kv1/monitoring/smtp#password")
	if err != nil || user != "" || pw != "s3cr3t-v1-value" {
		t.Fatalf("ResolveLogin with #field = %q, %q, %v", user, pw, err)
	}
	_, _, err = o.ResolveLogin(ctx, "vault:kv/team/smtp")
	secrettest.CheckErr(t, err, `vault: kv/team/smtp: no field "username"`, fakeVaultSecrets...)
}

func TestVaultNamespace(t *testing.T) {
	f := newFakeVault()
	f.namespace = "team-a"
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
	o := &secret.Options{Store: Read, VaultKV: "2"}
	_, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "vault: GET secret/data/monitoring/smtp: 403 permission denied", fakeVaultSecrets...)

	t.Setenv("VAULT_NAMESPACE", "team-a")
	got, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	if err != nil || got != "s3cr3t-v2-value" {
		t.Fatalf("with VAULT_NAMESPACE: %q, %v", got, err)
	}
}

func TestVaultAppRole(t *testing.T) {
	f := newFakeVault()
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.not-a-valid-token") // AppRole must not use VAULT_TOKEN
	t.Setenv("SMTPCHECK_TEST_ROLE_ID", f.roleID)
	sidFile := secrettest.WriteFile(t, "secret-id", f.secretID+"\n", 0o600)
	o := &secret.Options{Store: Read, VaultKV: "auto", VaultRoleID: "env:SMTPCHECK_TEST_ROLE_ID", VaultSecretID: "file:" + sidFile, VaultAppRoleMount: "approle"}
	got, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	if err != nil || got != "s3cr3t-v2-value" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if n := f.count("PUT /v1/auth/approle/login"); n != 1 {
		t.Errorf("%d logins", n)
	}
	if n := f.count("GET /v1/secret/data/monitoring/smtp hvs.fromapprole-abc"); n != 1 {
		t.Errorf("read with the AppRole token: %d\n%s", n, strings.Join(f.requests, "\n"))
	}
	if len(f.revoked) != 1 || f.revoked[0] != f.approleToken {
		t.Errorf("AppRole token not revoked: %v", f.revoked)
	}

	// A custom mount path, and a wrong secret id: one line, no ids in it.
	f.approleMount = "ci-approle"
	o.VaultAppRoleMount = "ci-approle"
	bad := secrettest.WriteFile(t, "secret-id", "secret-id-wrong-42\n", 0o600)
	o.VaultSecretID = "file:" + bad
	_, err = o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "vault: AppRole login at auth/ci-approle/login: 400 invalid role or secret ID", append(fakeVaultSecrets, "secret-id-wrong-42")...)

	// the ids are references too, and only env:/file:
	o.VaultSecretID = "vault:secret/x#y"
	_, err = o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "--vault-approle-secret-id: want env:NAME or file:PATH")
	o.VaultSecretID = ""
	_, err = o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "AppRole login needs both")
}

func TestVaultTokenFile(t *testing.T) {
	f := newFakeVault()
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "")
	o := &secret.Options{Store: Read, VaultKV: "2"}
	_, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "vault: no token: set VAULT_TOKEN")

	p := secrettest.WriteFile(t, "token", "hvs.roottoken-xyz\n", 0o644)
	o.VaultTokenFile = p
	_, err = o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "vault: --vault-token-file "+p+": mode 0644 lets group or others read or write it; run: chmod 600 "+p, fakeVaultSecrets...)

	if err := os.Chmod(p, 0o400); err != nil {
		t.Fatal(err)
	}
	got, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	if err != nil || got != "s3cr3t-v2-value" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if n := f.count("GET /v1/secret/data/monitoring/smtp hvs.roottoken-xyz"); n != 1 {
		t.Errorf("token from file not sent: %v", f.requests)
	}
}

func TestVaultErrors(t *testing.T) {
	f := newFakeVault()
	f.denied["secret/data/denied"] = true
	f.status["secret/data/sealed"] = 503
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
	t.Setenv("VAULT_MAX_RETRIES", "5") // must be overridden: a check does not retry
	ctx := secrettest.Ctx(t)
	o := &secret.Options{Store: Read, VaultKV: "2"}

	_, err := o.Resolve(ctx, "vault:secret/denied#password")
	secrettest.CheckErr(t, err, "vault: GET secret/data/denied: 403 permission denied (the token is valid; its policies do not allow this path)", fakeVaultSecrets...)

	_, err = o.Resolve(ctx, "vault:secret/missing#password")
	secrettest.CheckErr(t, err, "vault: GET secret/data/missing: not found (KV v2)", fakeVaultSecrets...)
	if !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("404 is not secret.ErrNotFound")
	}
	_, err = o.Resolve(ctx, "vault:secret/monitoring/smtp#passwd")
	secrettest.CheckErr(t, err, `vault: secret/monitoring/smtp: no field "passwd"`, fakeVaultSecrets...)
	_, err = o.Resolve(ctx, "vault:secret/numeric#password")
	secrettest.CheckErr(t, err, `vault: secret/numeric: field "password" is not a string (number)`, fakeVaultSecrets...)

	before := f.count("GET /v1/secret/data/sealed")
	start := time.Now()
	_, err = o.Resolve(ctx, "vault:secret/sealed#password")
	secrettest.CheckErr(t, err, "vault: GET secret/data/sealed: 503 Vault is sealed", fakeVaultSecrets...)
	if n := f.count("GET /v1/secret/data/sealed") - before; n != 1 {
		t.Errorf("503: %d requests, want exactly 1 (retries must be off)", n)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("503 took %v", d)
	}

	vaultEnv(t, srv.URL, "hvs.expired-token")
	o.VaultKV = "auto"
	_, err = o.Resolve(ctx, "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "403 permission denied (the token is invalid or expired)", append(fakeVaultSecrets, "hvs.expired-token")...)

	// nothing listens: refused at once, one line
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + l.Addr().String()
	l.Close()
	vaultEnv(t, addr, "hvs.roottoken-xyz")
	_, err = o.Resolve(ctx, "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "vault: cannot reach "+addr+": connection refused", fakeVaultSecrets...)

	t.Setenv("VAULT_CACERT", "/nonexistent/ca.pem")
	_, err = o.Resolve(ctx, "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "vault: configuration from VAULT_* variables:")
}

func TestVaultDeadline(t *testing.T) {
	f := newFakeVault()
	f.stall = true
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
	for _, kv := range []string{"auto", "2"} {
		o := &secret.Options{Store: Read, VaultKV: kv}
		const budget = 300 * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		start := time.Now()
		_, err := o.Resolve(ctx, "vault:secret/monitoring/smtp#password")
		elapsed := time.Since(start)
		cancel()
		secrettest.CheckErr(t, err, "no answer within the plugin's timeout", fakeVaultSecrets...)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("kv=%s: does not wrap context.DeadlineExceeded: %v", kv, err)
		}
		if elapsed > budget+100*time.Millisecond {
			t.Errorf("kv=%s: returned after %v, deadline %v", kv, elapsed, budget)
		}
	}
}

func TestVaultAgentAddr(t *testing.T) {
	server, agent := newFakeVault(), newFakeVault()
	agent.tokens[""] = true // the agent's cache adds the auto-auth token itself
	srvS, srvA := startFake(t, server), startFake(t, agent)
	vaultEnv(t, srvS.URL, "")
	t.Setenv("VAULT_AGENT_ADDR", srvA.URL)
	o := &secret.Options{Store: Read, VaultKV: "auto"}
	got, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	if err != nil || got != "s3cr3t-v2-value" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if len(server.requests) != 0 || agent.count("GET /v1/secret/data/monitoring/smtp") != 1 {
		t.Errorf("server got %v, agent got %v", server.requests, agent.requests)
	}
}

// TestVaultTLS runs the stand-in over TLS with a certificate from a test CA
// and checks VAULT_CACERT (and the error without it).
func TestVaultTLS(t *testing.T) {
	caPEM, cert := secrettest.CA(t, "127.0.0.1")
	f := newFakeVault()
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")
	o := &secret.Options{Store: Read, VaultKV: "auto"}

	_, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.CheckErr(t, err, "vault: cannot reach "+srv.URL+": TLS: certificate signed by unknown authority (set VAULT_CACERT to the CA file)", fakeVaultSecrets...)

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VAULT_CACERT", caFile)
	got, err := o.Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	if err != nil || got != "s3cr3t-v2-value" {
		t.Fatalf("with VAULT_CACERT: %q, %v", got, err)
	}
}
