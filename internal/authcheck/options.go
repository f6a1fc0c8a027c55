// Package authcheck is check_smtp_auth: it logs in to an SMTP submission
// service with a SASL mechanism and judges the outcome. Credentials come from
// references (env:, file:, vault:, keyring:) resolved by internal/secret, or
// from an OAuth 2 client-credentials grant; they are sent only over verified
// TLS unless the command line says otherwise, and never appear in output.
package authcheck

import (
	"cmp"
	"context"
	"net"
	"net/url"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/threshold"
)

// Name is the plugin's name; Service prefixes its status line.
const (
	Name    = "check_smtp_auth"
	Service = "SMTP AUTH"
)

// Options are check_smtp_auth's flags.
type Options struct {
	plugin.Common  `group:"Output and run"`
	plugin.Server  `group:"Connection"`
	secret.Options `group:"Secret stores"`

	Port int `short:"p" long:"port" value-name:"PORT" section:"Connection" description:"TCP port (default: 587 with STARTTLS; 465 means implicit TLS)"`

	plugin.TLS `group:"TLS"`

	AllowPlaintext bool `long:"allow-plaintext" section:"AUTH" description:"Send credentials without TLS when there is none (said in the output)"`

	Mech        string `short:"m" long:"mech" default:"auto" value-name:"MECH" section:"AUTH" description:"SASL mechanism: auto, SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER; auto picks the strongest offered"`
	User        string `unquote:"false" long:"user" value-name:"NAME" section:"AUTH" description:"User name to log in as"`
	PasswordRef string `unquote:"false" long:"password-ref" value-name:"REF" section:"AUTH" description:"Password reference: env:NAME, file:PATH, vault:MOUNT/PATH#FIELD, keyring:SERVICE/KEY (vault:MOUNT/PATH without #FIELD gives user and password)"`
	TokenRef    string `unquote:"false" long:"token-ref" value-name:"REF" section:"AUTH" description:"OAuth 2 access token reference, for XOAUTH2 and OAUTHBEARER"`

	OAuthTokenURL        string `long:"oauth-token-url" value-name:"URL" section:"OAuth 2 token" description:"Fetch an access token from this OAuth 2 token endpoint (client-credentials grant)"`
	OAuthClientIDRef     string `unquote:"false" long:"oauth-client-id-ref" value-name:"REF" section:"OAuth 2 token" description:"OAuth client ID reference (env:, file:, vault:, keyring:)"`
	OAuthClientSecretRef string `unquote:"false" long:"oauth-client-secret-ref" value-name:"REF" section:"OAuth 2 token" description:"OAuth client secret reference"`
	OAuthScope           string `long:"oauth-scope" value-name:"SCOPE" section:"OAuth 2 token" description:"Scope to ask the token endpoint for, e.g. https://outlook.office365.com/.default"`

	AuthType string `short:"A" long:"authtype" value-name:"MECH" section:"AUTH" description:"check_smtp compatibility: same as --mech"`
	AuthUser string `unquote:"false" short:"U" long:"authuser" value-name:"USER" section:"AUTH" description:"check_smtp compatibility: same as --user"`
	AuthPass string `unquote:"false" short:"P" long:"authpass" value-name:"PASSWORD" section:"AUTH" description:"check_smtp compatibility: a literal password, visible to other users (the output warns); prefer --password-ref"`

	ExpectFail bool `long:"expect-fail" section:"AUTH" description:"OK when the server refuses the credentials, CRITICAL when it accepts them (a disabled account must stay disabled)"`

	Warning  threshold.Range `short:"w" long:"warning" value-name:"RANGE" section:"Thresholds" description:"AUTH time in seconds that gives WARNING (Nagios range)"`
	Critical threshold.Range `short:"c" long:"critical" value-name:"RANGE" section:"Thresholds" description:"AUTH time in seconds that gives CRITICAL"`

	// Derived by Validate.
	mech        string // upper-cased; "AUTO" for auto
	user        string
	literalPass bool // -P: a password given literally (on argv or in an ini file)
	useToken    bool
}

// tlsUse is how check_smtp_auth uses the TLS flags: STARTTLS unless told
// otherwise (or port 465); the credentials follow the verification.
var tlsUse = plugin.TLSUse{Default: probe.TLSStartTLS, FlagAdjust: plugin.FlagAdjust{Help: map[string]string{
	"no-tls":   "Do not encrypt at all, even on port 465 (credentials are then only sent with --allow-plaintext)",
	"insecure": "Send credentials even if the certificate does not verify (said in the output)",
}}}

// FlagAdjust words the shared TLS flags for check_smtp_auth.
func (*Options) FlagAdjust() plugin.FlagAdjust { return tlsUse.FlagAdjust }

// Validate checks combinations and derives what the run needs.
func (o *Options) Validate(ctx context.Context) error {
	if err := o.Server.Validate(&o.Common, &o.Port, 587, o.ImplicitAsked()); err != nil {
		return err
	}
	if err := o.TLS.Validate(ctx, &o.Common, o.Port, tlsUse); err != nil {
		return err
	}
	// Refused here, before anything is dialled, rather than by the wire layer.
	if err := cmp.Or(plugin.WireText("--user", o.User), plugin.WireText("-U", o.AuthUser)); err != nil {
		return err
	}
	return o.validateCredentials()
}

func (o *Options) validateCredentials() error {
	if o.AuthType != "" && !strings.EqualFold(o.Mech, "auto") && !strings.EqualFold(o.Mech, o.AuthType) {
		return plugin.Usagef("-A %s and --mech %s disagree", o.AuthType, o.Mech)
	}
	o.mech = strings.ToUpper(cmp.Or(o.AuthType, o.Mech, "auto"))
	if o.mech != "AUTO" && !sasl.Known(o.mech) {
		return plugin.Usagef("--mech %s: want auto, %s or %s", o.mech,
			strings.Join(sasl.PasswordMechs, ", "), strings.Join(sasl.TokenMechs, ", "))
	}
	if o.User != "" && o.AuthUser != "" && o.User != o.AuthUser {
		return plugin.Usagef("--user and -U give different users")
	}
	o.user = cmp.Or(o.User, o.AuthUser)
	if o.AuthPass != "" && o.PasswordRef != "" {
		return plugin.Usagef("-P and --password-ref exclude each other: keep --password-ref")
	}
	o.literalPass = o.AuthPass != ""
	if err := secret.CheckValue("-P", o.AuthPass); err != nil {
		return plugin.Usagef("%v", err)
	}
	hasPass := o.literalPass || o.PasswordRef != ""
	oauth := o.OAuthTokenURL != "" || o.OAuthClientIDRef != "" || o.OAuthClientSecretRef != "" || o.OAuthScope != ""
	if o.TokenRef != "" && oauth {
		return plugin.Usagef("--token-ref and --oauth-* exclude each other: give a token, or how to fetch one")
	}
	if oauth {
		if o.OAuthTokenURL == "" || o.OAuthClientIDRef == "" || o.OAuthClientSecretRef == "" {
			return plugin.Usagef("the client-credentials grant needs --oauth-token-url, --oauth-client-id-ref and --oauth-client-secret-ref")
		}
		if err := checkTokenURL(o.OAuthTokenURL); err != nil {
			return err
		}
	}
	o.useToken = o.TokenRef != "" || oauth
	switch {
	case hasPass && o.useToken:
		return plugin.Usagef("give a password (--password-ref) or a token (--token-ref, --oauth-*), not both")
	case !hasPass && !o.useToken:
		return plugin.Usagef("no credentials: give --user and --password-ref (or -U and -P), or --token-ref / --oauth-token-url")
	case o.mech != "AUTO" && sasl.IsToken(o.mech) && !o.useToken:
		return plugin.Usagef("--mech %s takes an OAuth token: give --token-ref or --oauth-token-url", o.mech)
	case o.mech != "AUTO" && !sasl.IsToken(o.mech) && o.useToken:
		return plugin.Usagef("--mech %s takes a password: give --password-ref", o.mech)
	case o.user == "" && !loginRef(o.PasswordRef) && o.mech != sasl.OAuthBearer && !(o.useToken && o.mech == "AUTO"):
		return plugin.Usagef("no user: give --user (or -U)")
	}
	return nil
}

// checkTokenURL wants https, or http to a loopback address (a local proxy).
func checkTokenURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return plugin.Usagef("--oauth-token-url %q: not an absolute URL", s)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" {
		h := u.Hostname()
		if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || h == "localhost" {
			return nil
		}
	}
	return plugin.Usagef("--oauth-token-url %q: want https:// (http:// only to a loopback address), the client secret travels there", s)
}

// loginRef is a vault reference without #field: it yields user and password.
func loginRef(ref string) bool {
	return strings.HasPrefix(ref, "vault:") && !strings.Contains(ref, "#")
}

// target builds the probe target.
func (o *Options) target() probe.Target {
	t := probe.Target{Host: o.Host, Port: o.Port, Network: o.Network(), HeloName: o.HeloName()}
	o.ApplyTo(&t)
	return t
}
