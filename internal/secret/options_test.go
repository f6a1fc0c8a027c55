package secret_test

import (
	"reflect"
	"strings"
	"testing"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// TestOptionsFlags checks the go-flags tags: defaults, choices, help.
func TestOptionsFlags(t *testing.T) {
	var opts struct {
		secret.Options
	}
	p := flags.NewParser(&opts, flags.HelpFlag|flags.PassDoubleDash)
	if _, err := p.ParseArgs(nil); err != nil {
		t.Fatal(err)
	}
	if opts.KeyctlScope != "user" || opts.VaultKV != "auto" || opts.VaultAppRoleMount != "approle" || opts.KeyringBackend != "" || opts.AzureVaultURL != "https://{vault}.vault.azure.net" {
		t.Errorf("defaults: %+v", opts.Options)
	}
	_, err := p.ParseArgs([]string{"--keyring-backend=pass", "--vault-kv=2", "--keyctl-scope", "session",
		"--vault-token-file", "/t", "--vault-approle-role-id", "env:R", "--vault-approle-secret-id", "file:/s",
		"--vault-approle-mount", "ci", "--keyring-dir", "/d", "--keyring-passphrase-ref", "env:P",
		"--aws-region", "eu-west-1", "--aws-version-stage", "AWSPREVIOUS", "--aws-version-id", "v1", "--aws-no-imds",
		"--azure-vault-url", "https://{vault}.vault.azure.cn", "--azure-no-managed-identity", "--gpg-passphrase-ref", "env:G"})
	if err != nil {
		t.Fatal(err)
	}
	want := secret.Options{KeyringBackend: "pass", KeyringDir: "/d", KeyringPassphrase: "env:P", KeyctlScope: "session", VaultKV: "2",
		VaultTokenFile: "/t", VaultRoleID: "env:R", VaultSecretID: "file:/s", VaultAppRoleMount: "ci",
		AWSRegion: "eu-west-1", AWSVersionStage: "AWSPREVIOUS", AWSVersionID: "v1", AWSNoIMDS: true,
		AzureVaultURL: "https://{vault}.vault.azure.cn", AzureNoManagedID: true, GPGPassphrase: "env:G"}
	if !reflect.DeepEqual(opts.Options, want) {
		t.Errorf("parsed %+v", opts.Options)
	}
	for _, bad := range [][]string{{"--keyring-backend=kwallet"}, {"--vault-kv=3"}, {"--keyctl-scope=thread"}} {
		if _, err := p.ParseArgs(bad); err == nil || !strings.Contains(err.Error(), "Allowed values") {
			t.Errorf("%v: %v", bad, err)
		}
	}
	var help strings.Builder
	p.WriteHelp(&help)
	for _, f := range []string{"--keyring-backend", "--keyring-dir", "--keyring-passphrase-ref", "--keyctl-scope", "--vault-kv", "--vault-token-file", "--vault-approle-role-id", "--vault-approle-secret-id", "--vault-approle-mount",
		"--aws-region", "--aws-version-stage", "--aws-version-id", "--aws-no-imds", "--azure-vault-url", "--azure-no-managed-identity", "--gpg-passphrase-ref"} {
		if !strings.Contains(help.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}
