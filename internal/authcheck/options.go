// Package authcheck is check_smtp_auth: it logs in to an SMTP submission
// service with a SASL mechanism and judges the outcome. Credentials come from
// references (env:, file:, vault:, keyring:) resolved by internal/secret, or
// from an OAuth 2 client-credentials grant; they are sent only over verified
// TLS unless the command line says otherwise, and never appear in output.
package authcheck

import (
	"cmp"
	"context"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
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

	// The login: --mech, --user, --password-ref, --token-ref, --oauth-*.
	Login login.Flags `group:"AUTH"`

	AllowPlaintext bool `long:"allow-plaintext" section:"AUTH" description:"Send credentials without TLS when there is none (said in the output)"`

	// check_smtp's spellings, mapped onto Login by Validate.
	AuthType string `short:"A" long:"authtype" value-name:"MECH" section:"AUTH" description:"check_smtp compatibility: same as --mech"`
	AuthUser string `unquote:"false" short:"U" long:"authuser" value-name:"USER" section:"AUTH" description:"check_smtp compatibility: same as --user"`
	AuthPass string `unquote:"false" short:"P" long:"authpass" value-name:"PASSWORD" section:"AUTH" description:"check_smtp compatibility: a literal password, visible to other users (the output warns); prefer --password-ref"`

	ExpectFail bool `long:"expect-fail" section:"AUTH" description:"OK when the server refuses the credentials, CRITICAL when it accepts them (a disabled account must stay disabled)"`

	Warning  threshold.Range `short:"w" long:"warning" value-name:"RANGE" section:"Thresholds" description:"AUTH time in seconds that gives WARNING (Nagios range)"`
	Critical threshold.Range `short:"c" long:"critical" value-name:"RANGE" section:"Thresholds" description:"AUTH time in seconds that gives CRITICAL"`

	// Derived by Validate.
	literalPass bool // -P: a password given literally (on argv or in an ini file)
}

// tlsUse is how check_smtp_auth uses the TLS flags: STARTTLS unless told
// otherwise (or port 465); the credentials follow the verification.
var tlsUse = plugin.TLSUse{Default: probe.TLSStartTLS, FlagAdjust: plugin.FlagAdjust{Short: map[string]rune{"mech": 'm'}, Help: map[string]string{
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
	if err := cmp.Or(plugin.WireText("--user", o.Login.User), plugin.WireText("-U", o.AuthUser)); err != nil {
		return err
	}
	return o.validateCredentials()
}

// validateCredentials maps check_smtp's -A, -U and -P onto the login
// flags, then validates those.
func (o *Options) validateCredentials() error {
	l := &o.Login
	if o.AuthType != "" && !strings.EqualFold(l.Mech, "auto") && !strings.EqualFold(l.Mech, o.AuthType) {
		return plugin.Usagef("-A %s and --mech %s disagree", o.AuthType, l.Mech)
	}
	l.Mech = cmp.Or(o.AuthType, l.Mech)
	if l.User != "" && o.AuthUser != "" && l.User != o.AuthUser {
		return plugin.Usagef("--user and -U give different users")
	}
	l.User = cmp.Or(l.User, o.AuthUser)
	if o.AuthPass != "" && l.PasswordRef != "" {
		return plugin.Usagef("-P and --password-ref exclude each other: keep --password-ref")
	}
	o.literalPass, l.Password = o.AuthPass != "", o.AuthPass
	if err := secret.CheckValue("-P", o.AuthPass); err != nil {
		return plugin.Usagef("%v", err)
	}
	return l.Validate(login.Names{User: "-U", Password: "-P"})
}

// target builds the probe target.
func (o *Options) target() probe.Target {
	t := probe.Target{Host: o.Host, Port: o.Port, Network: o.Network(), HeloName: o.HeloName()}
	o.ApplyTo(&t)
	return t
}
