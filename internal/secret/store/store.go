// Package store reads the credentials that need a service: vault:
// references through github.com/hashicorp/vault/api, keyring: references
// through github.com/99designs/keyring, and OAuth access tokens from a token
// endpoint through net/http. It is linked only into the helper program
// smtpcheck-secret, which the plugins run for these (secret.Helper), so that
// no plugin pays these libraries' start-up.
//
// keyring's package init talks to D-Bus; the blank import of
// store/dbusguard keeps it from ever starting dbus-launch on a headless
// host.
package store

import (
	"context"

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
	}
	return nil, secret.Fail("", "unknown store "+secret.Quote(req.Scheme)+": want vault, keyring or oauth", nil)
}
