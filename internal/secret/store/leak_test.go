package store

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/99designs/keyring"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// TestNoLeak drives every error path it can reach with secrets present in
// each store, and checks that no secret (nor its base64) is in any error.
func TestNoLeak(t *testing.T) {
	const (
		envPW   = "leak-env-Zq8w"
		filePW  = "leak-file-Xr4t"
		krPW    = "leak-kr-Vb2n"
		krPass  = "leak-krpass-Mm7c"
		literal = "leak-literal-Hh3k"
	)
	secrets := append([]string{envPW, filePW, krPW, krPass, literal, "line2-Ppq9"}, fakeVaultSecrets...)

	t.Setenv("LEAK_PW", envPW)
	t.Setenv("LEAK_KRPASS", krPass)
	t.Setenv("LEAK_WRONG", "wrong-"+krPass)
	open := secrettest.WriteFile(t, "open", filePW+"\n", 0o644)
	empty := secrettest.WriteFile(t, "empty", "\nline2-Ppq9\n", 0o600)

	dir := filepath.Join(t.TempDir(), "kr")
	kr, err := keyring.Open(keyring.Config{AllowedBackends: []keyring.BackendType{keyring.FileBackend}, FileDir: dir, FilePasswordFunc: keyring.FixedStringPrompt(krPass)})
	if err != nil {
		t.Fatal(err)
	}
	if err := kr.Set(keyring.Item{Key: "relay", Data: []byte(krPW)}); err != nil {
		t.Fatal(err)
	}
	// a file-backend item that is not keyring JSON-decodable: a corrupted file
	if err := os.WriteFile(filepath.Join(dir, "broken"), []byte("eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIn0."+krPW), 0o600); err != nil {
		t.Fatal(err)
	}

	f := newFakeVault()
	f.denied["secret/data/denied"] = true
	f.status["secret/data/sealed"] = 503
	srv := startFake(t, f)
	vaultEnv(t, srv.URL, "hvs.roottoken-xyz")

	type run struct {
		o   secret.Options
		ref string
	}
	krOpts := secret.Options{Store: Read, KeyringBackend: "file", KeyringDir: dir, KeyringPassphrase: "env:LEAK_KRPASS"}
	wrongKR := krOpts
	wrongKR.KeyringPassphrase = "env:LEAK_WRONG"
	openKR := krOpts
	openKR.KeyringPassphrase = "file:" + open
	badRole := secret.Options{Store: Read, VaultKV: "auto", VaultRoleID: "env:LEAK_PW", VaultSecretID: "file:" + empty}
	badRole2 := secret.Options{Store: Read, VaultKV: "auto", VaultRoleID: "env:LEAK_PW", VaultSecretID: "env:LEAK_KRPASS"}
	tokFile := secret.Options{Store: Read, VaultKV: "2", VaultTokenFile: open}
	runs := []run{
		{ref: literal}, {ref: "x:" + literal}, {ref: literal + ":x"}, {ref: "ENV:" + literal},
		{ref: "file:" + open}, {ref: "file:" + empty},
		{o: secret.Options{Store: Read, VaultKV: "2"}, ref: "vault:secret/denied#password"},
		{o: secret.Options{Store: Read, VaultKV: "2"}, ref: "vault:secret/sealed#password"},
		{o: secret.Options{Store: Read, VaultKV: "auto"}, ref: "vault:secret/monitoring/smtp#nofield"},
		{o: secret.Options{Store: Read, VaultKV: "auto"}, ref: "vault:secret/numeric#password"},
		{o: secret.Options{Store: Read, VaultKV: "1"}, ref: "vault:secret/monitoring/smtp#password"},
		{o: badRole, ref: "vault:secret/monitoring/smtp#password"},
		{o: badRole2, ref: "vault:secret/monitoring/smtp#password"},
		{o: tokFile, ref: "vault:secret/monitoring/smtp#password"},
		{o: wrongKR, ref: "keyring:smtpcheck/relay"},
		{o: openKR, ref: "keyring:smtpcheck/relay"},
		{o: krOpts, ref: "keyring:smtpcheck/broken"},
		{o: krOpts, ref: "keyring:smtpcheck/missing"},
	}
	for _, r := range runs {
		_, err := r.o.Resolve(secrettest.Ctx(t), r.ref)
		if err == nil {
			t.Errorf("%s: no error", r.ref)
			continue
		}
		secrettest.AssertNoLeak(t, err.Error(), secrets...)
		t.Logf("%s", err)
	}
	// The token does not leak when the server is reached with it and fails.
	vaultEnv(t, srv.URL, "hvs.leaky-token-Kk1")
	_, err = (&secret.Options{Store: Read, VaultKV: "auto"}).Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.AssertNoLeak(t, err.Error(), "hvs.leaky-token-Kk1")
	t.Logf("%s", err)
}
