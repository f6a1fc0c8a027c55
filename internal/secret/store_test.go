package secret_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// The store an Options names answers its vault:, keyring: and OAuth
// requests, with the options in the request; it never travels in one.
func TestOptionsStore(t *testing.T) {
	var got []secret.Request
	fake := func(_ context.Context, req secret.Request) ([]string, error) {
		got = append(got, req)
		if req.Scheme == "oauth" {
			return []string{"tok-" + req.OAuth.ClientIDRef, "note"}, nil
		}
		return []string{req.Scheme + " " + req.Path + " [" + strings.Join(req.Fields, ",") + "]"}, nil
	}
	o := &secret.Options{VaultKV: "2", KeyringBackend: "file", Store: fake}
	ctx := secrettest.Ctx(t)
	for ref, want := range map[string]string{
		"vault:secret/smtp#user": "vault secret/smtp#user [user]",
		"vault:secret/smtp":      "vault secret/smtp [password]",
		"keyring:svc/key":        "keyring svc/key []",
	} {
		if v, err := o.Resolve(ctx, ref); err != nil || v != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ref, v, err, want)
		}
	}
	tok, note, err := o.FetchToken(ctx, secret.OAuth{TokenURL: "https://idp.test/token", ClientIDRef: "env:ID", ClientSecretRef: "env:SECRET"})
	if err != nil || tok != "tok-env:ID" || note != "note" {
		t.Errorf("FetchToken = %q, %q, %v", tok, note, err)
	}
	if len(got) != 4 {
		t.Fatalf("the store saw %d requests, want 4", len(got))
	}
	for _, req := range got {
		if req.Options.VaultKV != "2" || req.Options.KeyringBackend != "file" {
			t.Errorf("%s request without the options: %+v", req.Scheme, req.Options)
		}
	}
	js, err := json.Marshal(got[0])
	if err != nil || bytes.Contains(js, []byte(`"Store"`)) {
		t.Errorf("request on the pipe: %s, %v", js, err)
	}
}

// Without a store, the helper beside the running program answers.
func TestOptionsStoreDefault(t *testing.T) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&secret.Options{KeyringBackend: "file"}).Resolve(secrettest.Ctx(t), "keyring:svc/key")
	want := "keyring: svc/key: smtpcheck-secret, which reads vault: and keyring: references and OAuth tokens, is not installed as " +
		filepath.Join(filepath.Dir(exe), secret.HelperName) + " (it belongs beside the plugins; reinstall smtpcheck, or use env: or file:)"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

// Serve answers with the store it is given, and hands that store down:
// the references an OAuth grant names are read by it too, in the helper,
// never by running the helper again.
func TestServeHandsItsStoreDown(t *testing.T) {
	read := func(ctx context.Context, req secret.Request) ([]string, error) {
		if req.Scheme != "oauth" {
			return []string{"inner-" + req.Path}, nil
		}
		id, err := req.Options.Resolve(ctx, req.OAuth.ClientIDRef)
		return []string{"token-for-" + id, "note"}, err
	}
	req, err := json.Marshal(secret.Request{Options: secret.Options{KeyringBackend: "file"}, Scheme: "oauth", Path: "https://idp.test/token",
		OAuth: &secret.OAuth{TokenURL: "https://idp.test/token", ClientIDRef: "keyring:svc/client-id", ClientSecretRef: "env:S"}})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if code := secret.Serve(bytes.NewReader(req), &out, read); code != 0 {
		t.Fatalf("exit %d", code)
	}
	const want = `{"values":["token-for-inner-svc/client-id","note"]}` + "\n"
	if out.String() != want {
		t.Errorf("answer %s, want %s", out.String(), want)
	}
}
