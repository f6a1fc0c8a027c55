package plugin_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

// tlsPlugin is a plugin that embeds plugin.TLS, with the arguments its
// Validate needs besides the TLS flags.
type tlsPlugin struct {
	name, service string
	fresh         func() plugin.Options
	run           func(t *testing.T, args ...string) plugintest.Outcome
	base          []string
}

var tlsPlugins = []tlsPlugin{
	{conncheck.Name, conncheck.Service, func() plugin.Options { return &conncheck.Options{} },
		func(t *testing.T, args ...string) plugintest.Outcome {
			return plugintest.Run(t, conncheck.Name, conncheck.Service, &conncheck.Options{}, conncheck.Check, args...)
		}, nil},
	{authcheck.Name, authcheck.Service, func() plugin.Options { return &authcheck.Options{} },
		func(t *testing.T, args ...string) plugintest.Outcome {
			return plugintest.Run(t, authcheck.Name, authcheck.Service, &authcheck.Options{}, authcheck.Check, args...)
		}, []string{"-U", "mon@tls.test", "-P", "s3cret"}},
	{tlscheck.Name, tlscheck.Service, func() plugin.Options { return &tlscheck.Options{} },
		func(t *testing.T, args ...string) plugintest.Outcome {
			return plugintest.Run(t, tlscheck.Name, tlscheck.Service, &tlscheck.Options{}, tlscheck.Check, args...)
		}, nil},
}

// tlsOptions is what the group gives every plugin that embeds it.
type tlsOptions interface {
	plugin.Options
	Validate(context.Context) error
	Mode() probe.TLSMode
	MinVersion() uint16
}

// validate parses and validates args as the plugin's run does.
func (p tlsPlugin) validate(args ...string) (tlsOptions, error) {
	o := p.fresh().(tlsOptions)
	rest, _, err := plugin.Parse(context.Background(), p.name, append(append([]string{}, p.base...), args...), o)
	if err != nil {
		return nil, err
	}
	o.Base().Args = rest
	return o, o.Validate(context.Background())
}

// TestTLSFlagsSameEverywhere: the TLS flags of conn, auth and tls, through
// each plugin's own Validate. A mode is a TLSMode; an error is the exact
// usage message. Where a plugin differs on purpose (its default mode, a
// flag it does not take), its entry says so.
func TestTLSFlagsSameEverywhere(t *testing.T) {
	const (
		none     = probe.TLSNone
		starttls = probe.TLSStartTLS
		implicit = probe.TLSImplicit
	)
	type want struct {
		mode probe.TLSMode
		port int
		err  string
	}
	same := func(w want) map[string]want {
		return map[string]want{conncheck.Name: w, authcheck.Name: w, tlscheck.Name: w}
	}
	noTLS := "--no-tls: check_smtp_tls judges TLS, so it needs TLS (check_smtp_conn checks a plain session)"
	cases := []struct {
		args []string
		want map[string]want
	}{
		{nil, map[string]want{conncheck.Name: {none, 25, ""}, authcheck.Name: {starttls, 587, ""}, tlscheck.Name: {starttls, 25, ""}}},
		{[]string{"-p", "465"}, same(want{implicit, 465, ""})},
		{[]string{"-s"}, same(want{implicit, 465, ""})},
		{[]string{"--tls"}, same(want{implicit, 465, ""})},
		{[]string{"-s", "-p", "2465"}, same(want{implicit, 2465, ""})},
		{[]string{"-S"}, map[string]want{conncheck.Name: {starttls, 25, ""}, authcheck.Name: {starttls, 587, ""}, tlscheck.Name: {starttls, 25, ""}}},
		{[]string{"-S", "-p", "465"}, same(want{starttls, 465, ""})},
		{[]string{"--no-tls", "-p", "465"}, map[string]want{conncheck.Name: {none, 465, ""}, authcheck.Name: {none, 465, ""}, tlscheck.Name: {err: noTLS}}},
		{[]string{"-s", "-S"}, same(want{err: "-s (implicit TLS) and -S (STARTTLS) exclude each other"})},
		{[]string{"--tls", "-S"}, same(want{err: "-s (implicit TLS) and -S (STARTTLS) exclude each other"})},
		{[]string{"-S", "--no-tls"}, map[string]want{conncheck.Name: {err: "-S (STARTTLS) and --no-tls exclude each other"},
			authcheck.Name: {err: "-S (STARTTLS) and --no-tls exclude each other"}, tlscheck.Name: {err: noTLS}}},
		{[]string{"-s", "-S", "--no-tls"}, map[string]want{conncheck.Name: {err: "-s (implicit TLS), -S (STARTTLS) and --no-tls exclude each other"},
			authcheck.Name: {err: "-s (implicit TLS), -S (STARTTLS) and --no-tls exclude each other"}, tlscheck.Name: {err: noTLS}}},
		{[]string{"--insecure", "-S"}, map[string]want{conncheck.Name: {starttls, 25, ""}, authcheck.Name: {starttls, 587, ""},
			tlscheck.Name: {err: "--insecure: check_smtp_tls judges the certificate itself and goes on whatever it finds: leave --insecure out"}}},
		{[]string{"--sni", "-S"}, map[string]want{conncheck.Name: {starttls, 25, ""}, authcheck.Name: {starttls, 587, ""}, tlscheck.Name: {starttls, 25, ""}}},
		{[]string{"-H", "192.0.2.1", "--sni", "mx.example.org"}, map[string]want{conncheck.Name: {err: `unexpected argument "mx.example.org": --sni takes no value: use --sni-name NAME`},
			authcheck.Name: {err: `unexpected argument "mx.example.org": --sni takes no value: use --sni-name NAME`},
			tlscheck.Name:  {err: "--sni takes no value: use --sni-name NAME (and -H for the host)"}}},
		{[]string{"--sni=mx.example.org"}, same(want{err: `--sni takes no value: use --sni-name NAME`})},
		{[]string{"--insecure=yes"}, same(want{err: `--insecure takes no value`})},
		{[]string{"-H", "192.0.2.1", "--sni-name", "mx.example.org:25"}, same(want{err: `--sni-name "mx.example.org:25": a host name carries no port`})},
		{[]string{"--verify-name", "mx example"}, same(want{err: `--verify-name "mx example": ' ' cannot be in a host name: use letters, digits, hyphens, underscores and dots`})},
		{[]string{"--min-tls", "1.4"}, same(want{err: `--min-tls: unknown TLS version "1.4" (want 1.0, 1.1, 1.2 or 1.3)`})},
		{[]string{"--min-tls", "SSLv3"}, same(want{err: `--min-tls: unknown TLS version "SSLv3" (want 1.0, 1.1, 1.2 or 1.3)`})},
		{[]string{"--min-tls", ""}, same(want{err: `--min-tls: unknown TLS version "" (want 1.0, 1.1, 1.2 or 1.3)`})},
	}
	for _, c := range cases {
		for _, p := range tlsPlugins {
			w := c.want[p.name]
			o, err := p.validate(c.args...)
			var got string
			if err != nil {
				var ue *plugin.UsageError
				if !errors.As(err, &ue) {
					t.Errorf("%s %v: %v is no usage error", p.name, c.args, err)
				}
				got = err.Error()
			}
			if got != w.err {
				t.Errorf("%s %v: error %q, want %q", p.name, c.args, got, w.err)
				continue
			}
			if err == nil {
				port := reflectPort(o)
				if o.Mode() != w.mode || port != w.port || o.MinVersion() != tls.VersionTLS12 {
					t.Errorf("%s %v: mode %d port %d min %x, want mode %d port %d min 1.2", p.name, c.args, o.Mode(), port, o.MinVersion(), w.mode, w.port)
				}
			}
		}
	}
	for _, p := range tlsPlugins {
		if o, err := p.validate("-S", "--min-tls", "1.0"); err != nil || o.MinVersion() != tls.VersionTLS10 {
			t.Errorf("%s -S --min-tls 1.0: %v", p.name, err)
		}
	}
	// Without TLS the TLS flags would be taken without a word, and a check
	// could look verified: they are refused, in every plugin that can go
	// without TLS (check_smtp_tls cannot).
	for _, p := range tlsPlugins {
		for _, args := range [][]string{{"--ca-file", "x.pem"}, {"--verify-name", "mx.test"}, {"--sni-name", "mx.test"}, {"--min-tls", "1.3"}, {"--insecure"}} {
			if p.name == "check_smtp_tls" {
				continue
			}
			base := []string{"--no-tls"}
			if p.name == "check_smtp_conn" {
				base = nil // no TLS by default, as check_smtp
			}
			_, err := p.validate(append(base, args...)...)
			want := args[0] + " needs TLS, and this check runs without: add -S (STARTTLS) or -s (implicit TLS)"
			if err == nil || err.Error() != want {
				t.Errorf("%s %v: %v, want %q", p.name, append(base, args...), err, want)
			}
		}
	}
	// check_smtp_conn's -D and --verify want a certificate: STARTTLS unless -s or 465.
	for args, w := range map[string]want{
		"--verify":           {starttls, 25, ""},
		"--verify -p 465":    {implicit, 465, ""},
		"--verify --no-tls":  {err: "--verify and --no-tls exclude each other: --verify judges the certificate"},
		"-D 30":              {starttls, 25, ""},
		"-D 30 -p 465":       {implicit, 465, ""},
		"-D 30 -s":           {implicit, 465, ""},
		"-D 30 -S -p 2525":   {starttls, 2525, ""},
		"-D 30 --no-tls":     {err: "-D and --no-tls exclude each other: -D judges the certificate"},
		"-D 30 -p 465 -S -s": {err: "-s (implicit TLS) and -S (STARTTLS) exclude each other"},
	} {
		o, err := tlsPlugins[0].validate(strings.Fields(args)...)
		switch {
		case w.err != "" && (err == nil || err.Error() != w.err):
			t.Errorf("conn %s: error %v, want %q", args, err, w.err)
		case w.err == "" && err != nil:
			t.Errorf("conn %s: %v", args, err)
		case w.err == "" && (o.Mode() != w.mode || reflectPort(o) != w.port):
			t.Errorf("conn %s: mode %d port %d, want %d %d", args, o.Mode(), reflectPort(o), w.mode, w.port)
		}
	}
}

// reflectPort reads the -p every plugin declares itself.
func reflectPort(o plugin.Options) int {
	switch o := o.(type) {
	case *conncheck.Options:
		return o.Port
	case *authcheck.Options:
		return o.Port
	case *tlscheck.Options:
		return o.Port
	}
	return -1
}

// TestTLSFlagsInHelp: every plugin lists the shared flags, except those it
// does not take (hidden, and refused when given: see above), and words
// them its own way where it behaves its own way.
func TestTLSFlagsInHelp(t *testing.T) {
	hidden := map[string][]string{tlscheck.Name: {"--no-tls", "--insecure"}}
	for _, p := range tlsPlugins {
		_, help, err := plugin.Parse(context.Background(), p.name, []string{"--help"}, p.fresh())
		if !errors.Is(err, plugin.ErrHelp) {
			t.Fatalf("%s --help: %v", p.name, err)
		}
		for _, f := range []string{"-s, --ssl", "--tls", "-S, --starttls", "--no-tls", "--sni\n", "--sni-name=NAME",
			"--verify-name=NAME", "--ca-file=FILE", "--insecure", "--min-tls=VERSION"} {
			shown := strings.Contains(help, f)
			if hide := containsPrefix(hidden[p.name], f); shown == hide {
				t.Errorf("%s --help: %s shown %v, want %v", p.name, f, shown, !hide)
			}
		}
	}
	_, help, _ := plugin.Parse(context.Background(), conncheck.Name, []string{"--help"}, &conncheck.Options{})
	for _, s := range []string{"port 465 means implicit TLS unless -S or --no-tls is given (check_smtp spoke", "WARNING if the server does not offer it"} {
		if !strings.Contains(strings.Join(strings.Fields(help), " "), s) {
			t.Errorf("%s --help lacks %q", conncheck.Name, s)
		}
	}
}

func containsPrefix(list []string, s string) bool {
	for _, l := range list {
		if strings.HasPrefix(s, l) {
			return true
		}
	}
	return false
}

// badBundles writes the same two bad --ca-file bundles for every plugin: one
// refused at once (its second certificate is no certificate), one refused
// only by the full parse (a letter in a date), which then ends the
// handshake.
// junkLine is the line the junk certificate of early starts on.
func badBundles(t *testing.T, ca *smtptest.CA) (early, late string, junkLine int) {
	t.Helper()
	dir := t.TempDir()
	early = dir + "/early.pem"
	junk := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 0x02, 0x01, 0x01}})
	if err := os.WriteFile(early, append(append([]byte("# test roots\n"), ca.CertPEM...), junk...), 0o644); err != nil {
		t.Fatal(err)
	}
	der := bytes.Clone(ca.Cert.Raw)
	when := []byte(ca.Cert.NotBefore.UTC().Format("060102150405Z"))
	i := bytes.Index(der, when)
	if i < 0 {
		t.Fatal("notBefore not found")
	}
	der[i] = 'x'
	if _, err := x509.ParseCertificate(der); err == nil {
		t.Fatal("the damaged certificate still parses")
	}
	late = dir + "/late.pem"
	if err := os.WriteFile(late, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return early, late, 2 + bytes.Count(ca.CertPEM, []byte("\n"))
}

// startTLSServer offers STARTTLS with a certificate from ca under cfg's
// limits; nothing is expected inside TLS but EHLO and QUIT.
func startTLSServer(t *testing.T, ca *smtptest.CA, cfg *tls.Config) *smtptest.FaultServer {
	cert := ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	cfg.Certificates = []tls.Certificate{cert}
	return smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Greet()
		_ = c.EHLO("STARTTLS", "AUTH PLAIN")
		if _, err := c.Expect("STARTTLS"); err != nil {
			return
		}
		_ = c.Send("220 2.0.0 go ahead")
		if c.StartTLS(cfg) != nil {
			return
		}
		_ = c.EHLO("AUTH PLAIN")
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			if strings.EqualFold(line, "QUIT") {
				_ = c.Send("221 2.0.0 bye")
				return
			}
			_ = c.Send("502 5.5.1 not here")
		}
	})
}

// TestSameBundleEveryPlugin: one --ca-file rule for every plugin. A bundle
// whose second certificate is no certificate is a usage error before
// anything is dialled; one whose certificate fails only the full parse ends
// the handshake, again as a usage error naming its position.
func TestSameBundleEveryPlugin(t *testing.T) {
	ca := smtptest.MustNewCA(t, "Bundle Root")
	early, late, junkLine := badBundles(t, ca)
	srv := startTLSServer(t, ca, &tls.Config{})
	port := strconv.Itoa(srv.Port)
	for _, p := range tlsPlugins {
		args := append([]string{"-H", "127.0.0.1", "-p", port, "-S", "-t", "5"}, p.base...)
		o := p.run(t, append(args, "--ca-file", early)...)
		o.Expect(t, 3, p.service+" UNKNOWN - --ca-file: "+early+": certificate 2 (line "+strconv.Itoa(junkLine)+
			") is not an X.509 certificate (see "+p.name+" --help)")
		o = p.run(t, append(args, "--ca-file", late)...)
		want := p.service + " UNKNOWN - starttls: --ca-file: " + late + ": certificate 1 (line 1) does not parse: x509: "
		if o.Code != 3 || !strings.HasPrefix(o.Status(), want) {
			t.Errorf("%s, late: exit %d\n%s\nwant exit 3 and a status starting %q", p.name, o.Code, o.Out, want)
		}
	}
}

// TestMinTLSHandshake: --min-tls is the lowest version the handshake of
// conn and auth accepts; a server that offers only older ones fails it,
// CRITICAL, and the message names --min-tls. --min-tls 1.0 lets it through.
func TestMinTLSHandshake(t *testing.T) {
	ca := smtptest.MustNewCA(t, "Old Root")
	srv := startTLSServer(t, ca, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	port := strconv.Itoa(srv.Port)
	for _, p := range tlsPlugins[:2] {
		args := append([]string{"-H", "127.0.0.1", "-p", port, "-S", "-t", "5"}, p.base...)
		p.run(t, args...).Expect(t, 2, p.service+" CRITICAL - starttls: TLS handshake failed: protocol version not supported (127.0.0.1:"+port+
			") - the server accepts no TLS version from TLSv1.2 up (--min-tls)")
	}
	o := tlsPlugins[0].run(t, "-H", "127.0.0.1", "-p", port, "-S", "-t", "5", "--min-tls", "1.0")
	if o.Code != 0 || !strings.Contains(o.Out, "STARTTLS TLSv1.1") {
		t.Errorf("conn --min-tls 1.0: exit %d\n%s", o.Code, o.Out)
	}
}
