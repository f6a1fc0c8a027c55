// Package login is how a check logs in: the flags that say who logs in and
// with which secret (a plugin embeds them once per server it logs in to,
// the second time under a go-flags namespace), their validation, their
// resolution into sasl.Credentials, the choice of a mechanism, and the
// AUTH step of an SMTP session with its refusals, as data.
package login

import (
	"cmp"
	"net"
	"net/url"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
)

// Flags are the login flags. They carry no short options (those cannot be
// namespaced) and no section: the group they are embedded as names it.
type Flags struct {
	Mech        string `long:"mech" default:"auto" value-name:"MECH" description:"SASL mechanism: auto, SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER; auto picks the strongest offered"`
	User        string `unquote:"false" long:"user" value-name:"NAME" description:"User name to log in as"`
	PasswordRef string `unquote:"false" long:"password-ref" value-name:"REF" description:"Password reference: env:NAME, file:PATH, vault:MOUNT/PATH#FIELD, keyring:SERVICE/KEY, aws-sm:NAME[#FIELD], azure-kv:VAULT/NAME[/VERSION], gpg:PATH (vault:MOUNT/PATH without #FIELD gives user and password)"`
	TokenRef    string `unquote:"false" long:"token-ref" value-name:"REF" description:"OAuth 2 access token reference, for XOAUTH2 and OAUTHBEARER"`

	OAuthTokenURL        string `long:"oauth-token-url" value-name:"URL" section:"OAuth 2 token" description:"Fetch an access token from this OAuth 2 token endpoint (client-credentials grant)"`
	OAuthClientIDRef     string `unquote:"false" long:"oauth-client-id-ref" value-name:"REF" section:"OAuth 2 token" description:"OAuth client ID reference (env:, file:, vault:, keyring:, aws-sm:, azure-kv:, gpg:)"`
	OAuthClientSecretRef string `unquote:"false" long:"oauth-client-secret-ref" value-name:"REF" section:"OAuth 2 token" description:"OAuth client secret reference"`
	OAuthScope           string `long:"oauth-scope" value-name:"SCOPE" section:"OAuth 2 token" description:"Scope to ask the token endpoint for, e.g. https://outlook.office365.com/.default"`

	// Password is a password given literally, by a plugin that keeps
	// check_smtp's -P; no flag of its own.
	Password string `no-flag:"true"`

	// Derived by Validate.
	names    Names
	mech     string // upper-cased; "AUTO" for auto
	useToken bool
}

// Names is how a plugin's command line spells one login, for messages.
type Names struct {
	Namespace string // the group's go-flags namespace: "imap" for --imap-user
	// check_smtp's spellings the plugin also takes, named in hints
	// (check_smtp_auth: -U and -P); "" when it takes none.
	User, Password string
}

// flag is the option long as the command line spells it.
func (n Names) flag(long string) string {
	if n.Namespace != "" {
		return "--" + n.Namespace + "-" + long
	}
	return "--" + long
}

// or adds " (or -U)" for the check_smtp spellings of the given ones.
func or(alts ...string) string {
	for _, a := range alts {
		if a == "" {
			return ""
		}
	}
	return " (or " + strings.Join(alts, " and ") + ")"
}

// Validate checks the combination of the flags, named as n spells them,
// before anything is looked up or dialled, and derives what the login
// needs. A plugin that keeps check_smtp's spellings maps them onto the
// fields first.
func (f *Flags) Validate(n Names) error {
	f.names = n
	if err := plugin.WireText(n.flag("user"), f.User); err != nil { // refused here rather than by the wire
		return err
	}
	f.mech = strings.ToUpper(cmp.Or(f.Mech, "auto"))
	if f.mech != "AUTO" && !sasl.Known(f.mech) {
		return plugin.Usagef("%s %s: want auto, %s or %s", n.flag("mech"), f.mech,
			strings.Join(sasl.PasswordMechs, ", "), strings.Join(sasl.TokenMechs, ", "))
	}
	hasPass := f.Password != "" || f.PasswordRef != ""
	oauth := f.OAuthTokenURL != "" || f.OAuthClientIDRef != "" || f.OAuthClientSecretRef != "" || f.OAuthScope != ""
	if f.TokenRef != "" && oauth {
		return plugin.Usagef("%s and %s* exclude each other: give a token, or how to fetch one", n.flag("token-ref"), n.flag("oauth-"))
	}
	if oauth {
		if f.OAuthTokenURL == "" || f.OAuthClientIDRef == "" || f.OAuthClientSecretRef == "" {
			return plugin.Usagef("the client-credentials grant needs %s, %s and %s",
				n.flag("oauth-token-url"), n.flag("oauth-client-id-ref"), n.flag("oauth-client-secret-ref"))
		}
		if err := checkTokenURL(n.flag("oauth-token-url"), f.OAuthTokenURL); err != nil {
			return err
		}
	}
	f.useToken = f.TokenRef != "" || oauth
	mech := n.flag("mech") + " " + f.mech
	switch {
	case hasPass && f.useToken:
		return plugin.Usagef("give a password (%s) or a token (%s, %s*), not both", n.flag("password-ref"), n.flag("token-ref"), n.flag("oauth-"))
	case !hasPass && !f.useToken:
		return plugin.Usagef("no credentials: give %s and %s%s, or %s / %s", n.flag("user"), n.flag("password-ref"),
			or(n.User, n.Password), n.flag("token-ref"), n.flag("oauth-token-url"))
	case f.mech != "AUTO" && sasl.IsToken(f.mech) && !f.useToken:
		return plugin.Usagef("%s takes an OAuth token: give %s or %s", mech, n.flag("token-ref"), n.flag("oauth-token-url"))
	case f.mech != "AUTO" && !sasl.IsToken(f.mech) && f.useToken:
		return plugin.Usagef("%s takes a password: give %s", mech, n.flag("password-ref"))
	case f.User == "" && !loginRef(f.PasswordRef) && f.mech != sasl.OAuthBearer && !(f.useToken && f.mech == "AUTO"):
		return plugin.Usagef("no user: give %s%s", n.flag("user"), or(n.User))
	}
	return nil
}

// UseToken reports whether the login is by OAuth token rather than by
// password (valid after Validate).
func (f *Flags) UseToken() bool { return f.useToken }

// checkTokenURL wants https, or http to a loopback address (a local proxy).
func checkTokenURL(flag, s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return plugin.Usagef("%s %q: not an absolute URL", flag, s)
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
	return plugin.Usagef("%s %q: want https:// (http:// only to a loopback address), the client secret travels there", flag, s)
}

// loginRef is a vault reference without #field: it yields user and password.
func loginRef(ref string) bool {
	return strings.HasPrefix(ref, "vault:") && !strings.Contains(ref, "#")
}
