package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"

	vault "github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"

	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// vaultDefaultTimeout caps a request when ctx has no deadline.
const vaultDefaultTimeout = 30 * time.Second

// newVaultClient builds the client from VAULT_* and the options: no
// retries, timeout bounded by ctx, token from file/AppRole/VAULT_TOKEN.
// loggedIn reports an AppRole login whose token the caller revokes.
func (o opts) newVaultClient(ctx context.Context) (c *vault.Client, loggedIn bool, err error) {
	cfg := vault.DefaultConfig()
	if cfg == nil {
		return nil, false, secret.Fail("vault", "cannot build a client configuration", nil)
	}
	if cfg.Error != nil {
		return nil, false, secret.Fail("vault", "configuration from VAULT_* variables: "+secret.OneLine(cfg.Error.Error()), cfg.Error)
	}
	cfg.MaxRetries = 0 // a check runs again at its next interval; retries would eat -t
	timeout := vaultDefaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if cfg.Timeout <= 0 || cfg.Timeout > timeout {
		cfg.Timeout = timeout
	}
	c, err = vault.NewClient(cfg)
	if err != nil {
		return nil, false, secret.Fail("vault", "cannot create client: "+secret.OneLine(err.Error()), err)
	}
	c.SetMaxRetries(0)

	approleGiven := o.VaultRoleID != "" || o.VaultSecretID != ""
	switch {
	case approleGiven && o.VaultTokenFile != "":
		return nil, false, secret.Fail("vault", "give either --vault-token-file or --vault-approle-role-id/--vault-approle-secret-id, not both", nil)
	case approleGiven:
		if o.VaultRoleID == "" || o.VaultSecretID == "" {
			return nil, false, secret.Fail("vault", "AppRole login needs both --vault-approle-role-id and --vault-approle-secret-id", nil)
		}
		roleID, err := secret.ResolveLocal("--vault-approle-role-id", o.VaultRoleID)
		if err != nil {
			return nil, false, err
		}
		secretID, err := secret.ResolveLocal("--vault-approle-secret-id", o.VaultSecretID)
		if err != nil {
			return nil, false, err
		}
		mount := strings.Trim(o.VaultAppRoleMount, "/")
		if mount == "" {
			mount = "approle"
		}
		auth, err := approle.NewAppRoleAuth(roleID, &approle.SecretID{FromString: secretID}, approle.WithMountPath(mount))
		if err != nil {
			return nil, false, secret.Fail("vault", "AppRole: "+secret.OneLine(err.Error()), err)
		}
		c.ClearToken() // log in without whatever VAULT_TOKEN holds
		s, err := c.Auth().Login(ctx, auth)
		if err != nil {
			return nil, false, vaultErr(ctx, c, "AppRole login at auth/"+mount+"/login", err)
		}
		if s == nil || s.Auth == nil || s.Auth.ClientToken == "" {
			return nil, false, secret.Fail("vault", "AppRole login at auth/"+mount+"/login: no token in the answer", nil)
		}
		return c, true, nil
	case o.VaultTokenFile != "":
		tok, err := secret.ReadPrivateFile("vault", o.VaultTokenFile, "--vault-token-file")
		if err != nil {
			return nil, false, err
		}
		c.SetToken(tok)
	case c.Token() == "" && os.Getenv(vault.EnvVaultAgentAddr) == "":
		return nil, false, secret.Fail("vault", "no token: set VAULT_TOKEN, give --vault-token-file or --vault-approle-role-id/--vault-approle-secret-id, or use a Vault Agent (VAULT_AGENT_ADDR)", nil)
	}
	return c, false, nil
}

// readVault reads fields of the secret vr names.
func (o opts) readVault(ctx context.Context, vr secret.VaultRef, fields ...string) ([]string, error) {
	c, loggedIn, err := o.newVaultClient(ctx)
	if err != nil {
		return nil, err
	}
	if loggedIn {
		// One token per AppRole login: revoke it rather than let tokens pile
		// up until their TTL (best effort, under the same deadline).
		defer func() { _ = c.Auth().Token().RevokeSelfWithContext(ctx, "") }()
	}
	kv, err := o.kvSecret(ctx, c, &vr)
	if err != nil {
		return nil, err
	}
	vals := make([]string, len(fields))
	where := vr.Mount + "/" + vr.Path
	for i, f := range fields {
		raw, ok := kv.Data[f]
		if !ok {
			msg := fmt.Sprintf("%s: no field %q", where, f)
			if kv.Data == nil {
				msg += " (the secret has no data: deleted or destroyed version?)"
			}
			return nil, secret.Fail("vault", msg, secret.ErrNotFound)
		}
		s, ok := raw.(string)
		if !ok {
			return nil, secret.Fail("vault", fmt.Sprintf("%s: field %q is not a string (%s)", where, f, secret.JSONKind(raw)), nil)
		}
		if s == "" {
			return nil, secret.Fail("vault", fmt.Sprintf("%s: field %q is empty", where, f), secret.ErrNotFound)
		}
		vals[i] = s
	}
	return vals, nil
}

// kvSecret reads vr with KV v1 or v2 as --vault-kv says or Vault tells.
func (o opts) kvSecret(ctx context.Context, c *vault.Client, vr *secret.VaultRef) (*vault.KVSecret, error) {
	switch o.VaultKV {
	case "1":
		return kvGet(ctx, c, vr, 1)
	case "2":
		return kvGet(ctx, c, vr, 2)
	case "", "auto":
	default:
		return nil, secret.Fail("vault", "--vault-kv: want auto, 1 or 2", nil)
	}
	version, mount, err := kvPreflight(ctx, c, vr.Full)
	if err != nil {
		if isTransport(err) || ctx.Err() != nil {
			return nil, vaultErr(ctx, c, "GET sys/internal/ui/mounts/"+vr.Full, err)
		}
		// The mounts endpoint refused (old Vault, policy, agent): try v2,
		// then v1, the way the vault CLI falls back.
		s, err2 := kvGet(ctx, c, vr, 2)
		if err2 == nil || !fallbackWorthy(err2) || ctx.Err() != nil {
			return s, err2
		}
		s, err1 := kvGet(ctx, c, vr, 1)
		if err1 == nil || !errors.Is(err1, secret.ErrNotFound) {
			return s, err1
		}
		return nil, err2 // both not found: the v2 message names the data/ path
	}
	if mount != "" && mount != vr.Full && strings.HasPrefix(vr.Full, mount+"/") {
		vr.Mount, vr.Path = mount, strings.TrimPrefix(vr.Full, mount+"/")
	}
	return kvGet(ctx, c, vr, version)
}

// fallbackWorthy: a v2 read that failed in a way a v1 mount would explain.
func fallbackWorthy(err error) bool {
	var re *vault.ResponseError
	return errors.Is(err, secret.ErrNotFound) || (errors.As(err, &re) && (re.StatusCode == 403 || re.StatusCode == 404 || re.StatusCode == 405))
}

// kvPreflight asks GET sys/internal/ui/mounts/PATH for the engine version
// and the mount path (as the vault CLI's kvPreflightVersionRequest does).
func kvPreflight(ctx context.Context, c *vault.Client, full string) (version int, mount string, err error) {
	s, err := c.Logical().ReadWithContext(ctx, "sys/internal/ui/mounts/"+full)
	if err != nil {
		return 0, "", err
	}
	if s == nil || s.Data == nil {
		return 0, "", errors.New("no mount information")
	}
	if p, ok := s.Data["path"].(string); ok {
		mount = strings.Trim(p, "/")
	}
	if t, ok := s.Data["type"].(string); ok && t != "kv" && t != "generic" {
		return 0, "", fmt.Errorf("mount type %q is not kv", t)
	}
	version = 1
	if opts, ok := s.Data["options"].(map[string]any); ok {
		if v, ok := opts["version"].(string); ok && v == "2" {
			version = 2
		}
	}
	return version, mount, nil
}

func kvGet(ctx context.Context, c *vault.Client, vr *secret.VaultRef, version int) (*vault.KVSecret, error) {
	var (
		s    *vault.KVSecret
		err  error
		read = vr.Mount + "/" + vr.Path
	)
	if version == 2 {
		read = vr.Mount + "/data/" + vr.Path
		s, err = c.KVv2(vr.Mount).Get(ctx, vr.Path)
	} else {
		s, err = c.KVv1(vr.Mount).Get(ctx, vr.Path)
	}
	if err != nil {
		return nil, vaultErr(ctx, c, "GET "+read, err)
	}
	return s, nil
}

// vaultErr flattens what vault/api returned into one line:
//
//	vault: GET secret/data/smtp: 403 permission denied
//	vault: GET secret/data/smtp: not found (KV v2)
//	vault: cannot reach https://127.0.0.1:8200: connection refused
func vaultErr(ctx context.Context, c *vault.Client, what string, err error) error {
	var re *vault.ResponseError
	switch {
	case errors.Is(err, vault.ErrSecretNotFound):
		kind := "KV v1"
		if strings.Contains(what, "/data/") {
			kind = "KV v2"
		}
		return secret.Fail("vault", what+": not found ("+kind+")", errors.Join(err, secret.ErrNotFound))
	case ctx.Err() != nil:
		return secret.Fail("vault", what+" at "+c.Address()+": "+secret.CtxMsg(ctx, ctx.Err()), errors.Join(ctx.Err(), err))
	case errors.As(err, &re):
		msg := fmt.Sprintf("%s: %d %s", what, re.StatusCode, responseText(re))
		switch re.StatusCode {
		case 403:
			msg += tokenHint(ctx, c)
		case 404:
			return secret.Fail("vault", msg, errors.Join(err, secret.ErrNotFound))
		case 503:
			if !strings.Contains(msg, "sealed") {
				msg += " (sealed or standby?)"
			}
		}
		return secret.Fail("vault", msg, err)
	case errors.Is(err, context.DeadlineExceeded):
		// vault/api's own per-request timeout (VAULT_CLIENT_TIMEOUT)
		return secret.Fail("vault", what+" at "+c.Address()+": client timeout", err)
	case isTransport(err):
		return secret.Fail("vault", "cannot reach "+c.Address()+": "+transportText(err), err)
	}
	return secret.Fail("vault", what+": "+secret.OneLine(err.Error()), err)
}

// tokenHint tells a bad token from a policy that does not allow the path.
func tokenHint(ctx context.Context, c *vault.Client) string {
	if c.Token() == "" {
		return " (no token sent)"
	}
	_, err := c.Auth().Token().LookupSelfWithContext(ctx)
	var re *vault.ResponseError
	switch {
	case err == nil:
		return " (the token is valid; its policies do not allow this path)"
	case errors.As(err, &re) && re.StatusCode == 403:
		return " (the token is invalid or expired)"
	}
	return ""
}

var multiErrHead = regexp.MustCompile(`^\d+ errors? occurred:\s*`)

// responseText is Vault's error list on one line.
func responseText(re *vault.ResponseError) string {
	var parts []string
	for _, e := range re.Errors {
		// Vault wraps its errors with go-multierror:
		// "1 error occurred:\n\t* permission denied\n\n"
		e = multiErrHead.ReplaceAllString(strings.TrimSpace(e), "")
		for _, l := range strings.Split(e, "\n") {
			l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "* "))
			if l != "" {
				parts = append(parts, l)
			}
		}
	}
	if len(parts) == 0 || re.RawError {
		if t := http.StatusText(re.StatusCode); t != "" {
			return strings.ToLower(t)
		}
		return "error"
	}
	s := secret.OneLine(strings.Join(parts, "; "))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func isTransport(err error) bool {
	var (
		ue *url.Error
		oe *net.OpError
		de *net.DNSError
	)
	return errors.As(err, &oe) || errors.As(err, &de) || (errors.As(err, &ue) && !errors.Is(err, context.Canceled))
}

// transportText is the innermost useful reason: "connection refused",
// "no such host", a TLS verification failure with the fix.
func transportText(err error) string {
	var (
		errno   syscall.Errno
		de      *net.DNSError
		ua      x509.UnknownAuthorityError
		hn      x509.HostnameError
		ci      x509.CertificateInvalidError
		rh      tls.RecordHeaderError
		verrTLS *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &de):
		return "DNS lookup of " + de.Name + ": " + de.Err
	case errors.As(err, &ua):
		return "TLS: certificate signed by unknown authority (set VAULT_CACERT to the CA file)"
	case errors.As(err, &hn):
		return "TLS: " + hn.Error() + " (check VAULT_ADDR or set VAULT_TLS_SERVER_NAME)"
	case errors.As(err, &ci):
		return "TLS: " + ci.Error()
	case errors.As(err, &verrTLS):
		return "TLS: " + secret.OneLine(verrTLS.Err.Error())
	case errors.As(err, &rh):
		return "TLS handshake with a server that does not speak TLS (VAULT_ADDR http:// vs https://?)"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return secret.OneLine(ue.Err.Error())
	}
	return secret.OneLine(err.Error())
}
