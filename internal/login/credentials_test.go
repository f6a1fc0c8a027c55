package login_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/login"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// notes collects what Credentials notes for the transcript.
type notes []string

func (n *notes) Note(s string) { *n = append(*n, s) }

// fakeStore answers vault: logins and OAuth grants as a helper would.
func fakeStore(_ context.Context, req secret.Request) ([]string, error) {
	switch {
	case req.Scheme == "oauth" && req.OAuth.Scope == "refused":
		return nil, secret.Fail("oauth", "token endpoint "+req.Path+": 401 invalid_client", nil)
	case req.Scheme == "oauth":
		return []string{"tok-" + req.OAuth.Scope, "token endpoint " + req.Path + ": 200 in 0.001 s"}, nil
	case req.Scheme == "vault" && req.Path == "secret/mon":
		return []string{"mon@lab.test", "vault-pass"}, nil
	case req.Scheme == "vault":
		return []string{"", "vault-pass"}, nil // a secret without a user name
	}
	return nil, secret.Fail(req.Scheme, "no such store", nil)
}

// TestCredentials resolves each kind of reference, as the IMAP login of a
// second server would: errors name the namespaced flag.
func TestCredentials(t *testing.T) {
	imap := login.Names{Namespace: "imap"}
	missing := filepath.Join(t.TempDir(), "missing")
	store := &secret.Options{Store: fakeStore}
	_, _, fileErr := store.ResolveLogin(t.Context(), "file:"+missing)
	t.Setenv("LOGIN_TEST_PASS", "env-pass")
	t.Setenv("LOGIN_TEST_TOKEN", "env-token")
	cases := []struct {
		name  string
		f     login.Flags
		want  sasl.Credentials
		err   string
		notes string
	}{
		{"env", login.Flags{User: "u", PasswordRef: "env:LOGIN_TEST_PASS"},
			sasl.Credentials{User: "u", Password: "env-pass"}, "", ""},
		{"literal", login.Flags{User: "u", Password: "literal"}, sasl.Credentials{User: "u", Password: "literal"}, "", ""},
		{"vault login", login.Flags{PasswordRef: "vault:secret/mon"},
			sasl.Credentials{User: "mon@lab.test", Password: "vault-pass"}, "", ""},
		{"vault login, user given", login.Flags{User: "u", PasswordRef: "vault:secret/mon"},
			sasl.Credentials{User: "u", Password: "vault-pass"}, "", ""},
		{"vault without user", login.Flags{PasswordRef: "vault:secret/other"}, sasl.Credentials{},
			"secret: no user: give --imap-user (the reference held none)", ""},
		{"missing file", login.Flags{User: "u", PasswordRef: "file:" + missing}, sasl.Credentials{},
			"secret: --imap-password-ref: " + fileErr.Error(), ""},
		{"token", login.Flags{TokenRef: "env:LOGIN_TEST_TOKEN"}, sasl.Credentials{Token: "env-token"}, "", ""},
		{"grant", login.Flags{User: "u", OAuthTokenURL: "https://idp.test/token", OAuthClientIDRef: "env:I", OAuthClientSecretRef: "env:S", OAuthScope: "imap"},
			sasl.Credentials{User: "u", Token: "tok-imap"}, "", "token endpoint https://idp.test/token: 200 in 0.001 s"},
		{"grant refused", login.Flags{User: "u", OAuthTokenURL: "https://idp.test/token", OAuthClientIDRef: "env:I", OAuthClientSecretRef: "env:S", OAuthScope: "refused"},
			sasl.Credentials{}, "oauth: token endpoint https://idp.test/token: 401 invalid_client", ""},
	}
	for _, c := range cases {
		if err := c.f.Validate(imap); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var n notes
		got, err := c.f.Credentials(t.Context(), store, &n, "imap.lab.test", 993)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: error %v, want %q", c.name, err, c.err)
			}
			continue
		}
		c.want.Host, c.want.Port = "imap.lab.test", 993
		if err != nil || got != c.want || strings.Join(n, "\n") != c.notes {
			t.Errorf("%s: %+v, %v, notes %q; want %+v, notes %q", c.name, got, err, n, c.want, c.notes)
		}
	}
}

// TestCredentialsTimeout: a store that did not answer in time stays a
// deadline error, which the judges give -t's state.
func TestCredentialsTimeout(t *testing.T) {
	f := login.Flags{PasswordRef: "vault:secret/mon"}
	if err := f.Validate(login.Names{}); err != nil {
		t.Fatal(err)
	}
	slow := &secret.Options{Store: func(ctx context.Context, _ secret.Request) ([]string, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 0)
	defer cancel()
	if _, err := f.Credentials(ctx, slow, new(notes), "h", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline", err)
	}
}

// TestPick: the mechanism asked for, or the strongest offered for the
// credential held; XOAUTH2 wants a user.
func TestPick(t *testing.T) {
	offered := []string{"PLAIN", "LOGIN", "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER"}
	pass := sasl.Credentials{User: "u", Password: "p"}
	cases := []struct {
		mech    string
		creds   sasl.Credentials
		offered []string
		want    string
	}{
		{"auto", pass, offered, "SCRAM-SHA-256"},
		{"auto", pass, []string{"LOGIN", "PLAIN"}, "PLAIN"},
		{"auto", pass, []string{"XOAUTH2"}, ""},
		{"login", pass, offered, "LOGIN"},
		{"cram-md5", pass, offered, "CRAM-MD5"}, // asked for, even when not offered: the caller says so
		{"auto", sasl.Credentials{User: "u", Token: "t"}, offered, "XOAUTH2"},
		{"auto", sasl.Credentials{Token: "t"}, offered, "OAUTHBEARER"},
		{"auto", sasl.Credentials{Token: "t"}, []string{"XOAUTH2"}, ""},
	}
	for _, c := range cases {
		f := login.Flags{Mech: c.mech, User: c.creds.User, PasswordRef: "env:P"}
		if c.creds.Token != "" {
			f.PasswordRef, f.TokenRef = "", "env:T"
		}
		if err := f.Validate(login.Names{}); err != nil {
			t.Fatalf("%s: %v", c.mech, err)
		}
		if got := f.Pick(c.offered, c.creds); got != c.want {
			t.Errorf("%s with %+v among %v: %q, want %q", c.mech, c.creds, c.offered, got, c.want)
		}
	}
}
