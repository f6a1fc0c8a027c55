// Package cloud reads aws-sm: references through aws-sdk-go-v2 (config and
// service/secretsmanager) and azure-kv: references through azsecrets and
// azidentity. It is linked only into smtpcheck-secret-cloud, which
// smtpcheck-secret runs for these references: the SDKs' package inits and
// size would otherwise slow every keyring: and vault: read by a third.
package cloud

import (
	"context"

	"github.com/smtpcheck/smtpcheck/internal/secret"
)

type opts struct{ *secret.Options }

// Read answers an aws-sm: or azure-kv: request with its one value. It is
// a secret.Store.
func Read(ctx context.Context, req secret.Request) ([]string, error) {
	o := opts{&req.Options}
	if err := ctx.Err(); err != nil {
		return nil, secret.Fail(req.Scheme, req.Path+": "+secret.CtxMsg(ctx, err), err)
	}
	var (
		v   string
		err error
	)
	switch req.Scheme {
	case "aws-sm":
		v, err = o.readAWS(ctx, req.Path)
	case "azure-kv":
		v, err = o.readAzure(ctx, req.Path)
	default:
		return nil, secret.Fail("", "unknown store "+secret.Quote(req.Scheme)+": "+secret.CloudHelperName+" reads aws-sm: and azure-kv: references only", nil)
	}
	if err != nil {
		return nil, err
	}
	return []string{v}, nil
}
