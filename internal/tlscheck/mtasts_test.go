package tlscheck

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// policyServer serves one MTA-STS policy over HTTPS with a certificate for
// certName, issued by ca.
func policyServer(t *testing.T, ca *smtptest.CA, certName string, status int, ctype, body string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		if status == http.StatusFound {
			w.Header().Set("Location", "https://elsewhere.test/policy")
		}
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point of some tests
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{certName}})}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestMTASTS(t *testing.T) {
	now := time.Now()
	root := smtptest.MustNewCA(t, "Test Root")
	inter := mustCA(root.NewIntermediate("Test Intermediate", time.Time{}, time.Time{}))
	cert := inter.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.example.test"}, NotAfter: now.Add(90*24*time.Hour + time.Hour)})
	l := serve(t, root, cert, smtptest.Config{}, nil)
	const txt = `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=20261127T1200"`
	policy := func(mode string, mx ...string) string {
		p := "version: STSv1\r\nmode: " + mode + "\r\n"
		for _, m := range mx {
			p += "mx: " + m + "\r\n"
		}
		return p + "max_age: 604800\r\n"
	}
	okLine := `SMTP TLS OK - mx.example.test ({addr}): TLSv1.3 via STARTTLS, chain verified for mx.example.test; earliest expiry: certificate "mx.example.test" expires in 90 days (` +
		day(now.Add(90*24*time.Hour+time.Hour)) + "); "
	cases := []struct {
		name     string
		txt      []string
		certName string
		status   int
		ctype    string
		body     string
		code     int
		want     string
		detail   string
	}{
		{"enforce, wildcard matches", []string{txt}, "", 200, "", policy("enforce", "*.example.test"), 0,
			okLine + "mta-sts: mx.example.test matches mx *.example.test of example.test's policy (mode enforce)",
			"mta-sts: policy {url}: mode enforce, max_age 604800 s, mx *.example.test"},
		{"testing, literal matches", []string{txt, `_mta-sts.example.test. 60 IN TXT "unrelated"`}, "", 200, "text/plain; charset=utf-8",
			policy("testing", "mx2.example.test", "mx.example.test"), 0,
			okLine + "mta-sts: mx.example.test matches mx mx.example.test of example.test's policy (mode testing)", "mta-sts: _mta-sts.example.test: v=STSv1, id 20261127T1200"},
		{"enforce, no match", []string{txt}, "", 200, "", policy("enforce", "*.mail.example.test", "example.test"), 2,
			"SMTP TLS CRITICAL - mta-sts: mx.example.test matches no mx of example.test's policy (mode enforce: senders will not deliver to it): *.mail.example.test, example.test", ""},
		{"testing, no match", []string{txt}, "", 200, "", policy("testing", "mx.other.test"), 1,
			"SMTP TLS WARNING - mta-sts: mx.example.test matches no mx of example.test's policy (mode testing: failures are only reported): mx.other.test", ""},
		{"mode none", []string{txt}, "", 200, "", policy("none"), 0,
			okLine + "mta-sts: example.test's policy is mode none (MTA-STS switched off)", ""},
		{"TXT record missing", nil, "", 200, "", policy("enforce", "*.example.test"), 2,
			"SMTP TLS CRITICAL - mta-sts: no MTA-STS record at _mta-sts.example.test: NXDOMAIN: the name does not exist (asked {dns})", ""},
		{"two STSv1 records", []string{txt, `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=2"`}, "", 200, "", policy("enforce", "*.example.test"), 2,
			"SMTP TLS CRITICAL - mta-sts: no MTA-STS record at _mta-sts.example.test: 2 TXT records start with v=STSv1; RFC 8461 §3.1 treats that as no policy (asked {dns})", ""},
		{"policy 404", []string{txt}, "", 404, "", "no", 2,
			"SMTP TLS CRITICAL - mta-sts: cannot get the policy {url}: HTTP 404 Not Found", ""},
		{"redirect not followed", []string{txt}, "", http.StatusFound, "", "", 2,
			"SMTP TLS CRITICAL - mta-sts: cannot get the policy {url}: HTTP 302 Found, a redirect to https://elsewhere.test/policy (RFC 8461 §3.3: not followed)", ""},
		{"policy certificate for another name", []string{txt}, "www.example.test", 200, "", policy("enforce", "*.example.test"), 2,
			"SMTP TLS CRITICAL - mta-sts: cannot get the policy {url}: tls: failed to verify certificate: x509: certificate is valid for www.example.test, not mta-sts.example.test", ""},
		{"wrong content type", []string{txt}, "", 200, "text/html", policy("enforce", "*.example.test"), 2,
			`SMTP TLS CRITICAL - mta-sts: cannot get the policy {url}: Content-Type "text/html", not text/plain (RFC 8461 §3.2)`, ""},
		{"invalid policy", []string{txt}, "", 200, "", "version: STSv1\nmode: strict\nmx: *.example.test\nmax_age: 86400\n", 2,
			`SMTP TLS CRITICAL - mta-sts: cannot get the policy {url}: the policy is invalid: unknown mode "strict" (want enforce, testing or none)`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := tc.certName
			if name == "" {
				name = "mta-sts.example.test"
			}
			ctype := tc.ctype
			if ctype == "" {
				ctype = "text/plain"
			}
			base := policyServer(t, inter, name, tc.status, ctype, tc.body)
			dnsAddr := dnstest.Start(t, false, append(tc.txt, "mx.example.test. 60 IN A 127.0.0.1")...)
			o := check(t, "-H", "mx.example.test", "-p", l.port, "-t", "5", "-4", "--ca-file", l.caFile,
				"--dns-server", dnsAddr, "--mta-sts", "example.test", "--mta-sts-url-base", base)
			r := strings.NewReplacer("{addr}", l.srv.Addr, "{dns}", dnsAddr, "{url}", base+"/.well-known/mta-sts.txt")
			o.Expect(t, tc.code, r.Replace(tc.want))
			if tc.detail != "" {
				o.Contains(t, r.Replace(tc.detail))
			}
		})
	}
}

func TestMTASTSUsage(t *testing.T) {
	check(t, "-H", "mx.test", "--mta-sts-url-base", "https://127.0.0.1:1").Expect(t, 3,
		"SMTP TLS UNKNOWN - --mta-sts-url-base needs --mta-sts DOMAIN (see check_smtp_tls --help)")
	check(t, "-H", "mx.test", "--mta-sts", "example.test", "--mta-sts-url-base", "http://127.0.0.1:1").Expect(t, 3,
		`SMTP TLS UNKNOWN - --mta-sts-url-base "http://127.0.0.1:1": want https://HOST[:PORT] (see check_smtp_tls --help)`)
	check(t, "-H", "mx.test", "--mta-sts", "localhost").Expect(t, 3,
		`SMTP TLS UNKNOWN - --mta-sts "localhost": want a mail domain such as example.org (see check_smtp_tls --help)`)
}

func TestSTSPolicyParsing(t *testing.T) {
	p, err := tlsaudit.ParseSTSPolicy("version: STSv1\nmode: enforce\nmx: *.Example.com.\nmx: mail.example.net\nmax_age: 86400\n")
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]bool{
		"mx.example.com": true, "MX.example.com.": true, "a.b.example.com": false, "example.com": false,
		"mail.example.net": true, "x.mail.example.net": false,
	} {
		if _, ok := p.MatchMX(host); ok != want {
			t.Errorf("MatchMX(%q) = %v, want %v", host, ok, want)
		}
	}
	for _, bad := range []string{
		"version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 99999999\n",
		"version: STSv1\nmode: enforce\nmx: a.test\n",
		"garbage",
	} {
		if _, err := tlsaudit.ParseSTSPolicy(bad); err == nil {
			t.Errorf("ParseSTSPolicy(%q) accepted", bad)
		}
	}
	if _, err := tlsaudit.ParseSTSRecords([]string{"v=STSv1; id=abc-1"}); err == nil {
		t.Error("an id with '-' must be refused")
	}
}

// TestMTASTSPolicyHostUnknown: a policy host that does not resolve is
// named, with the DNS server asked; the lookups' durations are perfdata.
func TestMTASTSPolicyHostUnknown(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.example.test"}, NotAfter: leafNotAfter}), smtptest.Config{}, nil)
	dnsAddr := dnstest.Start(t, false, `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=1"`, "mx.example.test. 60 IN A 127.0.0.1")
	o := check(t, "-H", "mx.example.test", "-p", l.port, "-t", "5", "-4", "--ca-file", l.caFile,
		"--dns-server", dnsAddr, "--mta-sts", "example.test")
	o.Expect(t, 2, "SMTP TLS CRITICAL - mta-sts: cannot get the policy https://mta-sts.example.test/.well-known/mta-sts.txt: "+
		"mta-sts.example.test: NXDOMAIN: the name does not exist (asked "+dnsAddr+"): publish its address, or check the name")
	o.Contains(t, "'mta_sts_lookup'=", "'mta_sts_fetch'=")
}

// TestMTASTSPolicyStalls: a policy server that stalls mid-body ends the
// check within -t, with the MTA-STS timeout named.
func TestMTASTSPolicyStalls(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.example.test"}, NotAfter: leafNotAfter}), smtptest.Config{}, nil)
	pl, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{root.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mta-sts.example.test"}})}})
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	go func() {
		for {
			c, err := pl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Read(make([]byte, 4096)) // the request
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 500\r\n\r\nversion: STSv1\r\n")
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, _ = c.Read(make([]byte, 1)) // until the client gives up
			}()
		}
	}()
	base := "https://" + pl.Addr().String()
	dnsAddr := dnstest.Start(t, false, `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=1"`, "mx.example.test. 60 IN A 127.0.0.1")
	o := check(t, "-H", "mx.example.test", "-p", l.port, "-t", "1", "-4", "--ca-file", l.caFile,
		"--dns-server", dnsAddr, "--mta-sts", "example.test", "--mta-sts-url-base", base)
	o.Expect(t, 2, "SMTP TLS CRITICAL - mta-sts: no answer for "+base+"/.well-known/mta-sts.txt within the 1 s timeout")
	o.Within(t, time.Second)
}
