package login_test

import (
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// twoLogins is a plugin that logs in twice: to SMTP with the plain flags,
// to IMAP with the same flags under the imap namespace.
type twoLogins struct {
	plugin.Common `group:"Output and run"`
	SMTP          login.Flags `group:"AUTH"`
	IMAP          login.Flags `group:"IMAP login" namespace:"imap"`
}

func parse(t *testing.T, args ...string) (*twoLogins, string, error) {
	t.Helper()
	o := &twoLogins{}
	_, msg, err := plugin.Parse(t.Context(), "check_two", args, o)
	return o, msg, err
}

// TestNamespacedParse: the same flags, once plain and once prefixed, fill
// their own struct each.
func TestNamespacedParse(t *testing.T) {
	o, _, err := parse(t, "--user", "smtp@lab.test", "--password-ref", "env:SMTP_PASS", "--mech", "plain",
		"--imap-user", "imap@lab.test", "--imap-token-ref", "env:IMAP_TOKEN", "--imap-mech", "XOAUTH2",
		"--imap-oauth-scope", "s")
	if err != nil {
		t.Fatal(err)
	}
	want := twoLogins{SMTP: login.Flags{Mech: "plain", User: "smtp@lab.test", PasswordRef: "env:SMTP_PASS"},
		IMAP: login.Flags{Mech: "XOAUTH2", User: "imap@lab.test", TokenRef: "env:IMAP_TOKEN", OAuthScope: "s"}}
	if o.SMTP != want.SMTP || o.IMAP != want.IMAP {
		t.Errorf("parsed\n SMTP %+v\n IMAP %+v\nwant\n SMTP %+v\n IMAP %+v", o.SMTP, o.IMAP, want.SMTP, want.IMAP)
	}
	if o, _, _ := parse(t); o.SMTP.Mech != "auto" || o.IMAP.Mech != "auto" {
		t.Errorf("default mechs %q %q, want auto", o.SMTP.Mech, o.IMAP.Mech)
	}
}

// TestNamespacedHelp: --help shows both groups, the IMAP one with its
// prefix on every long name.
func TestNamespacedHelp(t *testing.T) {
	_, help, err := parse(t, "--help")
	if err != plugin.ErrHelp {
		t.Fatalf("--help: %v", err)
	}
	for _, line := range []string{
		"AUTH:\n  --mech=MECH\n",
		"\n  --user=NAME\n", "\n  --password-ref=REF\n", "\n  --token-ref=REF\n",
		"IMAP login:\n  --imap-mech=MECH\n",
		"\n  --imap-user=NAME\n", "\n  --imap-password-ref=REF\n", "\n  --imap-token-ref=REF\n",
		"OAuth 2 token:\n  --oauth-token-url=URL\n",
		"\n  --imap-oauth-token-url=URL\n", "\n  --imap-oauth-client-id-ref=REF\n",
		"\n  --imap-oauth-client-secret-ref=REF\n", "\n  --imap-oauth-scope=SCOPE\n",
	} {
		if !strings.Contains(help, line) {
			t.Errorf("--help lacks %q:\n%s", line, help)
		}
	}
}

// TestValidate: each refusal names the flags as the command line spells
// them, with the namespace and with check_smtp's spellings when kept.
func TestValidate(t *testing.T) {
	smtp := login.Names{User: "-U", Password: "-P"}
	imap := login.Names{Namespace: "imap"}
	cases := []struct {
		f    login.Flags
		n    login.Names
		want string
	}{
		{login.Flags{}, smtp, "no credentials: give --user and --password-ref (or -U and -P), or --token-ref / --oauth-token-url"},
		{login.Flags{}, imap, "no credentials: give --imap-user and --imap-password-ref, or --imap-token-ref / --imap-oauth-token-url"},
		{login.Flags{PasswordRef: "env:P"}, smtp, "no user: give --user (or -U)"},
		{login.Flags{PasswordRef: "env:P"}, imap, "no user: give --imap-user"},
		{login.Flags{User: "u\r\n", PasswordRef: "env:P"}, imap, `--imap-user "u\r\n": contains a control character ("\r"), which cannot be sent in an SMTP command`},
		{login.Flags{Mech: "md5", User: "u", PasswordRef: "env:P"}, imap,
			"--imap-mech MD5: want auto, SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN or XOAUTH2, OAUTHBEARER"},
		{login.Flags{User: "u", TokenRef: "env:T", OAuthScope: "s"}, imap,
			"--imap-token-ref and --imap-oauth-* exclude each other: give a token, or how to fetch one"},
		{login.Flags{User: "u", OAuthTokenURL: "https://idp.test/token"}, imap,
			"the client-credentials grant needs --imap-oauth-token-url, --imap-oauth-client-id-ref and --imap-oauth-client-secret-ref"},
		{login.Flags{User: "u", OAuthTokenURL: "http://idp.test/token", OAuthClientIDRef: "env:I", OAuthClientSecretRef: "env:S"}, imap,
			`--imap-oauth-token-url "http://idp.test/token": want https:// (http:// only to a loopback address), the client secret travels there`},
		{login.Flags{User: "u", OAuthTokenURL: "idp", OAuthClientIDRef: "env:I", OAuthClientSecretRef: "env:S"}, smtp,
			`--oauth-token-url "idp": not an absolute URL`},
		{login.Flags{User: "u", PasswordRef: "env:P", TokenRef: "env:T"}, imap,
			"give a password (--imap-password-ref) or a token (--imap-token-ref, --imap-oauth-*), not both"},
		{login.Flags{Mech: "xoauth2", User: "u", PasswordRef: "env:P"}, imap,
			"--imap-mech XOAUTH2 takes an OAuth token: give --imap-token-ref or --imap-oauth-token-url"},
		{login.Flags{Mech: "PLAIN", User: "u", TokenRef: "env:T"}, imap, "--imap-mech PLAIN takes a password: give --imap-password-ref"},
		{login.Flags{Mech: "PLAIN", User: "u", Password: "literal"}, smtp, ""},
		{login.Flags{PasswordRef: "vault:secret/mon"}, imap, ""}, // the reference gives the user
		{login.Flags{TokenRef: "env:T"}, imap, ""},               // OAUTHBEARER needs no user
		{login.Flags{User: "u", OAuthTokenURL: "http://127.0.0.1:8080/token", OAuthClientIDRef: "env:I", OAuthClientSecretRef: "env:S"}, imap, ""},
	}
	for _, c := range cases {
		err := c.f.Validate(c.n)
		var got string
		if err != nil {
			if _, ok := err.(*plugin.UsageError); !ok {
				t.Errorf("%+v: %v is no usage error", c.f, err)
			}
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%+v %q:\n got %q\nwant %q", c.f, c.n.Namespace, got, c.want)
		}
	}
}
