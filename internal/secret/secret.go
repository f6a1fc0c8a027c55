// Package secret turns references into secret values: env:NAME, file:PATH,
// vault:MOUNT/PATH#FIELD and keyring:SERVICE/KEY, each resolved under the
// plugin's one deadline (DESIGN.md principles 1 and 6).
//
// Errors are one line, name the reference's scheme and path, never contain a
// secret value, and wrap ErrSecret (and, where it applies, ErrNotFound or the
// context's error, so a plugin can tell a timeout from a refusal).
//
// Only plugins that read secrets may import this package: it links vault/api
// and 99designs/keyring (DESIGN.md principle 7). keyring's package init talks
// to D-Bus; the blank import of internal/dbusguard below keeps it from ever
// starting dbus-launch on a headless host.
package secret

import (
	"context"
	"errors"
	"strings"

	_ "github.com/smtpcheck/smtpcheck/internal/dbusguard" // before keyring's init: see package dbusguard
)

// Options are the flags every secret-reading plugin embeds (go-flags tags).
type Options struct {
	KeyringBackend    string `long:"keyring-backend" choice:"file" choice:"keyctl" choice:"pass" choice:"secret-service" value-name:"BACKEND" description:"Keyring backend for keyring:SERVICE/KEY references (required for them; never guessed)"`
	KeyringDir        string `long:"keyring-dir" value-name:"DIR" description:"directory of the file backend"`
	KeyringPassphrase string `long:"keyring-passphrase-ref" value-name:"REF" description:"env:NAME or file:PATH holding the file backend's passphrase"`
	KeyctlScope       string `long:"keyctl-scope" default:"user" choice:"user" choice:"session" choice:"process" value-name:"SCOPE" description:"kernel keyring that holds the SERVICE keyring (keyctl backend)"`
	VaultKV           string `long:"vault-kv" default:"auto" choice:"auto" choice:"1" choice:"2" description:"KV engine version; auto asks Vault (sys/internal/ui/mounts)"`
	VaultTokenFile    string `long:"vault-token-file" value-name:"PATH" description:"read the Vault token from this file (else VAULT_TOKEN)"`
	VaultRoleID       string `long:"vault-approle-role-id" value-name:"REF" description:"AppRole login: role id reference (env:/file:)"`
	VaultSecretID     string `long:"vault-approle-secret-id" value-name:"REF" description:"AppRole login: secret id reference (env:/file:)"`
	VaultAppRoleMount string `long:"vault-approle-mount" default:"approle" value-name:"PATH" description:"mount path of the AppRole auth method"`
}

// ErrSecret is wrapped by every error from this package.
var ErrSecret = errors.New("secret")

// ErrNotFound is wrapped as well when the store answered that the secret,
// field or key does not exist (as opposed to refusing or not answering).
var ErrNotFound = errors.New("secret not found")

// Error is the one error type of this package. Its text is one line that
// names the scheme and the reference's path and never contains a secret.
type Error struct {
	Scheme string // env, file, vault, keyring; "" for a malformed reference
	Msg    string // the whole line, already prefixed with the scheme
	Err    error  // cause, for errors.Is/As only; never printed
}

func (e *Error) Error() string { return e.Msg }

// Unwrap exposes ErrSecret and the cause.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSecret}
	}
	return []error{ErrSecret, e.Err}
}

// fail builds an *Error; msg is flattened to one line.
func fail(scheme, msg string, cause error) *Error {
	if scheme != "" {
		msg = scheme + ": " + msg
	}
	return &Error{Scheme: scheme, Msg: oneLine(msg), Err: cause}
}

// oneLine collapses all whitespace runs (newlines, tabs) into single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

const schemes = "env:NAME, file:PATH, vault:MOUNT/PATH#FIELD or keyring:SERVICE/KEY"

// Resolve reads the secret a reference names: env:NAME, file:PATH,
// vault:MOUNT/PATH#FIELD (FIELD defaults to "password"), keyring:SERVICE/KEY.
func (o *Options) Resolve(ctx context.Context, ref string) (string, error) {
	scheme, rest, err := split(ref)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fail(scheme, rest+": "+ctxMsg(ctx, err), err)
	}
	switch scheme {
	case "env":
		return readEnv(rest)
	case "file":
		return readFile(rest)
	case "vault":
		vr, err := parseVaultRef(rest)
		if err != nil {
			return "", err
		}
		if vr.field == "" {
			vr.field = "password"
		}
		vals, err := o.readVault(ctx, vr, vr.field)
		if err != nil {
			return "", err
		}
		return vals[0], nil
	default: // keyring
		return o.readKeyring(ctx, rest)
	}
}

// ResolveLogin reads a user and a password: for vault:MOUNT/PATH without
// #FIELD it returns the secret's "username" and "password" fields;
// otherwise user is "" and password is Resolve(ref).
func (o *Options) ResolveLogin(ctx context.Context, ref string) (user, password string, err error) {
	scheme, rest, err := split(ref)
	if err != nil {
		return "", "", err
	}
	if scheme == "vault" {
		vr, err := parseVaultRef(rest)
		if err != nil {
			return "", "", err
		}
		if vr.field == "" {
			if err := ctx.Err(); err != nil {
				return "", "", fail(scheme, rest+": "+ctxMsg(ctx, err), err)
			}
			vals, err := o.readVault(ctx, vr, "username", "password")
			if err != nil {
				return "", "", err
			}
			return vals[0], vals[1], nil
		}
	}
	password, err = o.Resolve(ctx, ref)
	return "", password, err
}

// IsReference reports whether s looks like a reference this package
// resolves (a plugin may accept a literal for compatibility and warn).
func IsReference(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok {
		return false
	}
	switch scheme {
	case "env", "file", "vault", "keyring":
		return true
	}
	return false
}

// split checks the scheme. A value without a known scheme is refused
// without echoing it: it may be a literal password.
func split(ref string) (scheme, rest string, err error) {
	scheme, rest, ok := strings.Cut(ref, ":")
	if ref == "" {
		return "", "", fail("", "empty secret reference: want "+schemes, nil)
	}
	if !ok || strings.ContainsAny(scheme, " \t/\\") || len(scheme) > 16 {
		return "", "", fail("", "secret reference without a scheme (a literal value is not accepted here): put it in the environment or a chmod 600 file and give env:NAME or file:PATH; schemes: "+schemes, nil)
	}
	switch scheme {
	case "env", "file", "vault", "keyring":
	default:
		// The scheme is not echoed: the value may be a literal password.
		return "", "", fail("", "unknown secret reference scheme: want "+schemes+" (lower case)", nil)
	}
	if rest == "" {
		return "", "", fail(scheme, "empty reference: want "+schemes, nil)
	}
	return scheme, rest, nil
}

// quote prints a short identifier from a reference (a scheme, a path)
// safely on one line.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return '?'
		}
		return r
	}, s) + `"`
}

// ctxMsg describes an ended context.
func ctxMsg(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within the plugin's timeout (-t)"
	}
	return "cancelled"
}
