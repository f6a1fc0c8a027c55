package plugins

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/deliverycheck"
	"github.com/smtpcheck/smtpcheck/internal/loadcheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/securitycheck"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

// flagToken is an option named in advice: "-f", "(--from)", "-A/-U/-P".
var flagToken = regexp.MustCompile(`(?:^|[\s(/"])(--?[A-Za-z][A-Za-z0-9-]*)`)

// adviceSessions are sessions as the advice sees them: plain or in TLS,
// STARTTLS and AUTH offered or not, a login that succeeded or was refused.
var adviceSessions = []*probe.Session{
	nil,
	{Ext: smtp.Extensions{"STARTTLS": ""}},
	{Ext: smtp.Extensions{"STARTTLS": "", "AUTH": "PLAIN"}},
	{Ext: smtp.Extensions{"PIPELINING": ""}},
	{ExtPlain: smtp.Extensions{"STARTTLS": ""}, Ext: smtp.Extensions{"AUTH": "PLAIN"}, TLS: &tls.ConnectionState{}},
	{ExtPlain: smtp.Extensions{"STARTTLS": ""}, Ext: smtp.Extensions{"AUTH": "PLAIN"}, TLS: &tls.ConnectionState{}, Timings: []probe.Timing{{Phase: probe.PhaseAuth}}, LoggedIn: true},
	{ExtPlain: smtp.Extensions{"STARTTLS": ""}, Ext: smtp.Extensions{"AUTH": "PLAIN"}, TLS: &tls.ConnectionState{}, Timings: []probe.Timing{{Phase: probe.PhaseAuth}}},
	{Target: probe.Target{TLS: probe.TLSImplicit}},
}

// adviceTexts is every piece of advice sp gives: for every reply (basic
// codes 400 to 599, the enhanced codes the hints know, with and without
// the word relay) and every failure kind, in every phase and session.
func adviceTexts(sp plugin.Spelling) map[string]bool {
	enhanced := []string{"", "4.2.2", "4.5.3", "4.7.0", "4.7.1", "5.1.1", "5.1.10", "5.1.2", "5.2.1", "5.2.2", "5.2.3",
		"5.3.4", "5.5.2", "5.7.1", "5.7.139", "5.7.14", "5.7.26", "5.7.3", "5.7.54", "5.7.9"}
	out := map[string]bool{}
	for _, ph := range probe.Phases {
		for _, s := range adviceSessions {
			for _, kind := range []probe.Kind{probe.KindTimeout, probe.KindRefused, probe.KindReset, probe.KindClosed, probe.KindProtocol, probe.KindTLS} {
				_, todo := sp.Explain(&probe.Error{Phase: ph, Kind: kind, Err: errors.New("x")}, s, 0)
				out[todo] = true
			}
			_, todo := sp.Explain(&probe.Error{Phase: ph, Kind: probe.KindReply, Err: probe.ErrNoStartTLS}, s, 0)
			out[todo] = true
			for code := 400; code < 600; code++ {
				for _, e := range enhanced {
					if e != "" && e[0] != byte('0'+code/100) {
						continue
					}
					for _, text := range []string{"denied", "relay access denied"} {
						out[sp.Hint(ph, smtp.Reply{Code: code, Enhanced: e, Lines: []string{e + " " + text}}, s)] = true
					}
				}
			}
		}
	}
	return out
}

// TestAdviceNamesOwnFlags: every plugin's advice names only options that
// plugin has, as its own go-flags Options define them.
func TestAdviceNamesOwnFlags(t *testing.T) {
	for name, opts := range map[string]plugin.Options{
		"check_smtp_conn":     &conncheck.Options{},
		"check_smtp_auth":     &authcheck.Options{},
		"check_smtp_tls":      &tlscheck.Options{},
		"check_smtp_delivery": &deliverycheck.Options{},
		"check_smtp_security": &securitycheck.Options{},
		"check_smtp_load":     &loadcheck.Options{},
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := plugin.Parse(context.Background(), name, nil, opts); err != nil {
				t.Fatal(err)
			}
			p := plugin.NewParser(name, opts)
			has := func(flag string) bool {
				if long, ok := strings.CutPrefix(flag, "--"); ok {
					return p.FindOptionByLongName(long) != nil
				}
				return len(flag) == 2 && p.FindOptionByShortName(rune(flag[1])) != nil
			}
			named := 0
			for text := range adviceTexts(opts.Base().Spelling()) {
				for _, m := range flagToken.FindAllStringSubmatch(text, -1) {
					named++
					if !has(m[1]) {
						t.Errorf("advice names %s, which %s lacks: %q", m[1], name, text)
					}
				}
			}
			if named == 0 {
				t.Error("no advice names any option: the test sees nothing")
			}
		})
	}
}

// TestAdviceInOwnSpelling: the plugins other than check_smtp_conn word
// failures in their own spelling, not through the package-level Describe,
// Explain and Hint (check_smtp_conn's spelling).
func TestAdviceInOwnSpelling(t *testing.T) {
	for _, pkg := range []string{"authcheck", "tlscheck", "deliverycheck", "securitycheck", "loadcheck"} {
		files, _ := filepath.Glob(filepath.Join("..", "internal", pkg, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range []string{"plugin.Describe(", "plugin.Explain(", "plugin.Hint("} {
				if strings.Contains(string(src), call) {
					t.Errorf("%s calls %s: use o.Spelling()'s, which names this plugin's flags", f, call)
				}
			}
		}
	}
	if !slices.Contains([]string{"-A/-U/-P"}, plugin.ConnSpelling.Login) {
		t.Errorf("check_smtp_conn's login spelling %q", plugin.ConnSpelling.Login)
	}
}
