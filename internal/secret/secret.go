// Package secret turns references into secret values: env:NAME, file:PATH,
// vault:MOUNT/PATH#FIELD, keyring:SERVICE/KEY, aws-sm:NAME#FIELD,
// azure-kv:VAULT/NAME/VERSION and gpg:PATH, each resolved under the plugin's
// one deadline (DESIGN.md principles 1 and 6).
//
// Errors are one line, name the reference's scheme and path, never contain a
// secret value, and wrap ErrSecret (and, where it applies, ErrNotFound or the
// context's error, so a plugin can tell a timeout from a refusal).
//
// env: and file: are read in-process. The other references, and OAuth
// grants (FetchToken), go to Options.Store, by default the helper program
// smtpcheck-secret (package secret/store): vault/api, 99designs/keyring,
// the AWS and Azure SDKs and net/http cost a plugin milliseconds of
// start-up and megabytes on every run, so they are linked into the helper
// only and paid for only by the runs that use them (DESIGN.md principle 7). No package state says
// which store answers: the helper hands its own down with each request.
package secret

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"unicode"
)

// Options are the flags every secret-reading plugin embeds (go-flags tags).
type Options struct {
	KeyringBackend    string `long:"keyring-backend" choice:"file" choice:"keyctl" choice:"pass" choice:"secret-service" value-name:"BACKEND" description:"Keyring backend for keyring:SERVICE/KEY references (required for them; never guessed)"`
	KeyringDir        string `long:"keyring-dir" value-name:"DIR" description:"Directory of the file backend's keyrings"`
	KeyringPassphrase string `long:"keyring-passphrase-ref" value-name:"REF" description:"The file backend's passphrase: env:NAME or file:PATH"`
	KeyctlScope       string `long:"keyctl-scope" default:"user" choice:"user" choice:"session" choice:"process" value-name:"SCOPE" description:"Kernel keyring that holds the SERVICE keyring (keyctl backend)"`
	VaultKV           string `long:"vault-kv" default:"auto" choice:"auto" choice:"1" choice:"2" value-name:"VERSION" description:"KV engine version; auto asks Vault (sys/internal/ui/mounts)"`
	VaultTokenFile    string `long:"vault-token-file" value-name:"PATH" description:"Read the Vault token from this file (else VAULT_TOKEN)"`
	VaultRoleID       string `long:"vault-approle-role-id" value-name:"REF" description:"AppRole login: role id reference (env:/file:)"`
	VaultSecretID     string `long:"vault-approle-secret-id" value-name:"REF" description:"AppRole login: secret id reference (env:/file:)"`
	VaultAppRoleMount string `long:"vault-approle-mount" default:"approle" value-name:"PATH" description:"Mount path of the AppRole auth method"`
	AWSRegion         string `long:"aws-region" value-name:"REGION" description:"AWS region of aws-sm: secrets (else the ARN's, AWS_REGION or the profile's)"`
	AWSVersionStage   string `long:"aws-version-stage" value-name:"STAGE" description:"Version stage of aws-sm: secrets, e.g. AWSPREVIOUS (default AWSCURRENT)"`
	AWSVersionID      string `long:"aws-version-id" value-name:"ID" description:"Version id of aws-sm: secrets (instead of a stage)"`
	AWSNoIMDS         bool   `long:"aws-no-imds" description:"Never ask the EC2 instance metadata service (169.254.169.254) for credentials or a token (as AWS_EC2_METADATA_DISABLED=true)"`
	AzureVaultURL     string `long:"azure-vault-url" default:"https://{vault}.vault.azure.net" value-name:"URL" description:"URL of azure-kv: vaults, {vault} replaced by VAULT; e.g. https://{vault}.vault.azure.cn in Azure China"`
	AzureNoManagedID  bool   `long:"azure-no-managed-identity" description:"Never ask the managed identity endpoint (169.254.169.254) for an azure-kv: token"`
	GPGPassphrase     string `long:"gpg-passphrase-ref" value-name:"REF" description:"Passphrase of the key that decrypts gpg: files, a reference (not gpg:); without it gpg's agent must hold the key unlocked or the key have none"`

	// Store answers the references read by a store and OAuth grants;
	// nil runs the helper beside this program (Helper("")). The helper
	// sets it to the stores it holds (Serve), tests to store.Read. It is
	// no flag and does not travel in a Request.
	Store Store `no-flag:"true" json:"-"`
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

// Fail builds an *Error; msg is flattened to one line.
func Fail(scheme, msg string, cause error) *Error {
	if scheme != "" {
		msg = scheme + ": " + msg
	}
	return &Error{Scheme: scheme, Msg: OneLine(msg), Err: cause}
}

// OneLine collapses all whitespace runs (newlines, tabs) into single spaces:
// library messages are put on one line with it.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

const schemes = "env:NAME, file:PATH, vault:MOUNT/PATH#FIELD, keyring:SERVICE/KEY, aws-sm:NAME[#FIELD], azure-kv:VAULT/NAME[/VERSION] or gpg:PATH"

// Schemes is the list of reference forms, for help texts.
const Schemes = schemes

// Resolve reads the secret a reference names: env:NAME, file:PATH,
// vault:MOUNT/PATH#FIELD (FIELD defaults to "password"), keyring:SERVICE/KEY,
// aws-sm:NAME[#FIELD] (NAME or an ARN; FIELD of a JSON secret),
// azure-kv:VAULT/NAME[/VERSION], gpg:PATH (a gpg-encrypted file).
func (o *Options) Resolve(ctx context.Context, ref string) (string, error) {
	scheme, rest, err := split(ref)
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", Fail(scheme, shownRef(scheme, rest)+": "+CtxMsg(ctx, err), err)
	}
	switch scheme {
	case "env":
		return readEnv(rest)
	case "file":
		return readFile(ctx, rest)
	case "vault":
		vr, err := ParseVaultRef(rest)
		if err != nil {
			return "", err
		}
		vals, err := o.remote(ctx, "vault", rest, cmp.Or(vr.Field, "password"))
		if err != nil {
			return "", err
		}
		return vals[0], nil
	default: // keyring, aws-sm, azure-kv, gpg: their shape is checked
		if scheme == "keyring" {
			if _, _, err := o.KeyringRef(rest); err != nil {
				return "", err
			}
		}
		vals, err := o.remote(ctx, scheme, rest)
		if err != nil {
			return "", err
		}
		return vals[0], nil
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
		vr, err := ParseVaultRef(rest)
		if err != nil {
			return "", "", err
		}
		if vr.Field == "" {
			if err := ctx.Err(); err != nil {
				return "", "", Fail(scheme, shownRef(scheme, rest)+": "+CtxMsg(ctx, err), err)
			}
			vals, err := o.remote(ctx, "vault", rest, "username", "password")
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
	return knownScheme(scheme)
}

func knownScheme(scheme string) bool {
	switch scheme {
	case "env", "file", "vault", "keyring", "aws-sm", "azure-kv", "gpg":
		return true
	}
	return false
}

// split checks the scheme. A value without a known scheme is refused
// without echoing it: it may be a literal password.
func split(ref string) (scheme, rest string, err error) {
	scheme, rest, ok := strings.Cut(ref, ":")
	if ref == "" {
		return "", "", Fail("", "empty secret reference: want "+schemes, nil)
	}
	if !ok || strings.ContainsAny(scheme, " \t/\\") || len(scheme) > 16 {
		return "", "", Fail("", "secret reference without a scheme (a literal value is not accepted here): put it in the environment or a chmod 600 file and give env:NAME or file:PATH; schemes: "+schemes, nil)
	}
	if !knownScheme(scheme) {
		// The scheme is not echoed: the value may be a literal password.
		return "", "", Fail("", "unknown secret reference scheme: want "+schemes+" (lower case)", nil)
	}
	if rest == "" {
		return "", "", Fail(scheme, "empty reference: want "+schemes, nil)
	}
	if err := checkShape(scheme, rest); err != nil {
		return "", "", err
	}
	return scheme, rest, nil
}

// shapes says what a well-formed reference of each scheme looks like.
var shapes = map[string]string{
	"env":      "env:NAME, NAME an environment variable (letters, digits and _, at most 64), e.g. env:SMTPCHECK_PASSWORD",
	"file":     "file:PATH with an absolute PATH, e.g. file:/etc/smtpcheck/smtp.pass",
	"vault":    "vault:MOUNT/PATH#FIELD, e.g. vault:secret/monitoring/smtp#password",
	"keyring":  "keyring:SERVICE/KEY, e.g. keyring:smtpcheck/relay",
	"aws-sm":   "aws-sm:NAME or aws-sm:NAME#FIELD, NAME a secret's name or ARN, e.g. aws-sm:prod/smtp#password",
	"azure-kv": "azure-kv:VAULT/NAME or azure-kv:VAULT/NAME/VERSION, e.g. azure-kv:contoso-mon/smtp-relay",
	"gpg":      "gpg:PATH with an absolute PATH, e.g. gpg:/etc/smtpcheck/relay.asc",
}

// malformed refuses a reference without echoing it: what was typed may be
// the password itself, put where its reference belongs.
func malformed(scheme string) *Error {
	return Fail(scheme, "malformed reference, not shown (it may be a password typed in its place): want "+shapes[scheme], nil)
}

// checkShape refuses, before anything else names it, a reference whose
// shape cannot be right; a well-formed one may then appear in messages.
func checkShape(scheme, rest string) error {
	ok := !strings.ContainsFunc(rest, unicode.IsControl)
	switch scheme {
	case "env":
		ok = ok && isVarName(rest)
	case "file", "gpg":
		if ok && !strings.HasPrefix(rest, "/") {
			// Not shown either: it may be a password all the same.
			return Fail(scheme, "the path must be absolute: the engine's working directory is not yours to rely on", nil)
		}
	case "vault":
		_, err := ParseVaultRef(rest)
		ok = ok && err == nil
	case "keyring":
		_, _, found := splitKeyring(rest)
		ok = ok && found
	case "aws-sm":
		_, err := ParseAWSRef(rest)
		ok = ok && err == nil
	case "azure-kv":
		_, err := ParseAzureRef(rest)
		ok = ok && err == nil
	}
	if !ok {
		return malformed(scheme)
	}
	return nil
}

// shownRef is how a well-formed reference's rest appears in messages: a
// path or a store's name as it is, but an environment variable's name only
// when it looks like a conventional one, upper case: "Summer2024" passes
// isVarName and may well be a password typed where its name belongs.
func shownRef(scheme, rest string) string {
	if scheme == "env" && !conventionalVar(rest) {
		return "the variable it names" + hiddenName
	}
	return rest
}

const hiddenName = " (name not shown: it may be a password)"

// conventionalVar reports whether s is [A-Z_][A-Z0-9_]*.
func conventionalVar(s string) bool {
	for i, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// controlChars is how messages name what CheckValue refuses.
const controlChars = "a control character (NUL, CR, LF, tab or the like), which no password or token holds"

// CheckValue refuses a secret value that holds a control character: it is
// a file read by mistake (/proc/self/environ is all NULs) or would break
// the line it is sent on. what names the value's source, never the value.
func CheckValue(what, v string) error {
	return checkValue("", what, v)
}

func checkValue(scheme, what, v string) error {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return Fail(scheme, what+": the value contains "+controlChars+": refused before anything is sent", nil)
	}
	return nil
}

// isVarName reports whether s is [A-Za-z_][A-Za-z0-9_]* of a sane length.
func isVarName(s string) bool {
	if s == "" || len(s) > 64 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Quote prints a short identifier (a store's name, a path, a helper's
// message) safely on one line. Never a reference's text: that may be a
// password typed in its place (see malformed).
func Quote(s string) string {
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

// CtxMsg describes an ended context.
func CtxMsg(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer within the plugin's timeout (-t)"
	}
	return "cancelled"
}

// VaultRef is vault:MOUNT/PATH#FIELD split up. Mount is the first path
// segment; with --vault-kv=auto, Vault may report a longer one.
type VaultRef struct {
	Full, Mount, Path, Field string
}

// ParseVaultRef splits what follows "vault:".
func ParseVaultRef(rest string) (VaultRef, error) {
	full, field, _ := strings.Cut(rest, "#")
	full = strings.Trim(full, "/")
	mount, path, ok := strings.Cut(full, "/")
	if !ok || mount == "" || path == "" || strings.Contains(field, "#") {
		return VaultRef{}, malformed("vault")
	}
	return VaultRef{Full: full, Mount: mount, Path: path, Field: field}, nil
}

// KeyringRef splits what follows "keyring:" and checks that a backend is
// chosen: it is never guessed.
func (o *Options) KeyringRef(rest string) (service, key string, err error) {
	service, key, ok := splitKeyring(rest)
	if !ok {
		return "", "", malformed("keyring")
	}
	if o.KeyringBackend == "" {
		return "", "", Fail("keyring", service+"/"+key+": --keyring-backend is required (file, keyctl, pass or secret-service)", nil)
	}
	return service, key, nil
}

// splitKeyring splits SERVICE/KEY; both must be there.
func splitKeyring(rest string) (service, key string, ok bool) {
	service, key, ok = strings.Cut(rest, "/")
	return service, key, ok && service != "" && key != ""
}
