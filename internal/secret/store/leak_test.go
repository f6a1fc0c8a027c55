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
	for _, g := range gpgLeakRuns(t, &secrets) {
		runs = append(runs, run(g))
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
	t.Setenv("GNUPGHOME", "")
	vaultEnv(t, srv.URL, "hvs.leaky-token-Kk1")
	_, err = (&secret.Options{Store: Read, VaultKV: "auto"}).Resolve(secrettest.Ctx(t), "vault:secret/monitoring/smtp#password")
	secrettest.AssertNoLeak(t, err.Error(), "hvs.leaky-token-Kk1")
	t.Logf("%s", err)
}

// gpgLeakRuns are gpg: reads that fail with secrets around: a wrong
// passphrase, a file encrypted for another key, files whose text gpg
// complains about (an armor header, a plain-text password where the
// encrypted file belongs). GNUPGHOME is set for them.
func gpgLeakRuns(t *testing.T, secrets *[]string) []struct {
	o   secret.Options
	ref string
} {
	const (
		uid      = "smtpcheck leak <leak@smtpcheck.invalid>"
		gpgPW    = "leak-gpg-Nn5b"
		gpgPass  = "leak-gpgpass-Oo6c"
		armorHdr = "leak-armor-Pp7d"
		plainPW  = "leak-gpgplain-Qq8e"
	)
	*secrets = append(*secrets, gpgPW, gpgPass, armorHdr, plainPW)
	home := newGPGHome(t, uid, gpgPass)
	other := newGPGHome(t, "other <other@smtpcheck.invalid>", "")
	t.Setenv("GNUPGHOME", home)
	t.Setenv("LEAK_GPGPASS", gpgPass)
	t.Setenv("LEAK_GPGWRONG", "x"+gpgPass)
	mine := encryptTo(t, home, uid, gpgPW+"\n", true)
	foreign := encryptTo(t, other, "other", gpgPW+"\n", true)
	armor := secrettest.WriteFile(t, "armor.asc", "-----BEGIN PGP MESSAGE-----\n"+armorHdr+"\nPassword: "+armorHdr+"\n\nhQEMA"+armorHdr+"\n-----END PGP MESSAGE-----\n", 0o600)
	plain := secrettest.WriteFile(t, "plain.asc", plainPW+"\n", 0o600)
	open := secrettest.WriteFile(t, "open.asc", plainPW+"\n", 0o644)
	wrong := secret.Options{Store: Read, GPGPassphrase: "env:LEAK_GPGWRONG"}
	right := secret.Options{Store: Read, GPGPassphrase: "env:LEAK_GPGPASS"}
	return []struct {
		o   secret.Options
		ref string
	}{
		{o: wrong, ref: "gpg:" + mine},
		{o: secret.Options{Store: Read}, ref: "gpg:" + mine},
		{o: right, ref: "gpg:" + foreign},
		{o: right, ref: "gpg:" + armor},
		{o: right, ref: "gpg:" + plain},
		{o: right, ref: "gpg:" + open},
		{o: secret.Options{Store: Read, GPGPassphrase: gpgPass}, ref: "gpg:" + mine}, // a literal where the reference belongs
	}
}
