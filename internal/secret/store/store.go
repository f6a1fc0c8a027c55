// Package store reads the credentials that need a service: vault:
// references through github.com/hashicorp/vault/api, keyring: references
// through github.com/99designs/keyring, gpg: through the gpg program, and
// OAuth access tokens from a token endpoint through net/http; aws-sm: and
// azure-kv: it hands on to smtpcheck-secret-cloud (package secret/cloud).
// It is linked only into the helper program
// smtpcheck-secret, which the plugins run for these (secret.Helper), so that
// no plugin pays these libraries' start-up.
//
// keyring's package init talks to D-Bus; the blank import of
// store/dbusguard keeps it from ever starting dbus-launch on a headless
// host.
package store

import (
	"context"
	"os"
	"path/filepath"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	_ "github.com/smtpcheck/smtpcheck/internal/secret/store/dbusguard" // before keyring's init: see package dbusguard
)

// opts carries the plugin's secret-store flags into the readers.
type opts struct{ *secret.Options }

// Read answers a request: the fields of a vault: secret, in order, the
// value of a keyring: item, or an OAuth access token and the line that says
// how the endpoint answered. It is a secret.Store.
func Read(ctx context.Context, req secret.Request) ([]string, error) {
	o := opts{&req.Options}
	if err := ctx.Err(); err != nil {
		return nil, secret.Fail(req.Scheme, req.Path+": "+secret.CtxMsg(ctx, err), err)
	}
	switch req.Scheme {
	case "vault":
		vr, err := secret.ParseVaultRef(req.Path)
		if err != nil {
			return nil, err
		}
		return o.readVault(ctx, vr, req.Fields...)
	case "keyring":
		v, err := o.readKeyring(ctx, req.Path)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	case "oauth":
		if req.OAuth != nil {
			return o.fetchToken(ctx, req.OAuth)
		}
	case "gpg":
		v, err := o.readGPG(ctx, req.Path)
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	case "aws-sm", "azure-kv":
		return cloudHelper(ctx, req)
	}
	return nil, secret.Fail("", "unknown store "+secret.Quote(req.Scheme)+": want vault, keyring, aws-sm, azure-kv, gpg or oauth", nil)
}

// cloudHelper runs smtpcheck-secret-cloud, beside this program, for an
// aws-sm: or azure-kv: reference, under what is left of the deadline.
func cloudHelper(ctx context.Context, req secret.Request) ([]string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return nil, secret.Fail(req.Scheme, req.Path+": cannot locate "+secret.CloudHelperName+": "+err.Error(), err)
	}
	req.Options.Store = nil
	return secret.Helper(filepath.Join(filepath.Dir(exe), secret.CloudHelperName))(ctx, req)
}
