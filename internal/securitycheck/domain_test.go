package securitycheck

import (
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// stsServer serves an MTA-STS policy over HTTPS for mta-sts.DOMAIN, and
// returns its URL and the CA file that trusts it.
func stsServer(t *testing.T, domain, policy string) (base, caFile string) {
	t.Helper()
	ca := smtptest.MustNewCA(t, "smtpcheck MTA-STS test CA")
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, policy)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mta-sts." + domain}})}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, caFile
}

// zone lines of a domain that publishes everything right.
const (
	mxRR     = "example.test. 60 IN MX 10 mx.example.test."
	spfRR    = `example.test. 60 IN TXT "v=spf1 mx -all"`
	dmarcRR  = `_dmarc.example.test. 60 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"`
	stsRR    = `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=20261204"`
	tlsrptRR = `_smtp._tls.example.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:tls@example.test"`
	tlsaRR   = "_25._tcp.mx.example.test. 60 IN TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	enforce  = "version: STSv1\nmode: enforce\nmx: mx.example.test\nmax_age: 86400\n"
)

// domainCheck runs --domain example.test's rows alone against a scripted
// DNS server (validating when ad) and an MTA-STS policy server.
func domainCheck(t *testing.T, ad bool, policy string, only string, records ...string) (map[string]Verdict, int, string) {
	t.Helper()
	base, caFile := stsServer(t, "example.test", policy)
	dnsAddr := dnstest.Start(t, ad, records...)
	got, out := items(t, "-H", "127.0.0.1", "-p", "1", "--ca-file", caFile, "-t", "5", "--domain", "example.test",
		"--dns-server", dnsAddr, "--mta-sts-url-base", base, "--only", only)
	return got, out.Code, strings.ReplaceAll(out.Out, dnsAddr, "{dns}")
}

// TestDomainAllRight: a domain that publishes everything right passes
// every row, each with its evidence; no SMTP session is opened.
func TestDomainAllRight(t *testing.T) {
	got, code, out := domainCheck(t, true, enforce, "mx,spf,dmarc,mta_sts,tls_rpt,tlsa", mxRR, spfRR, dmarcRR, stsRR, tlsrptRR, tlsaRR)
	if code != 0 || !strings.Contains(out, `"summary":"6 sub-checks passed for --role mx on 127.0.0.1:1"`) {
		t.Errorf("exit %d:\n%s", code, out)
	}
	expectItems(t, only(got, "mx", "spf", "dmarc", "mta_sts", "tls_rpt", "tlsa"), map[string]want{
		"mx":      {"OK", "1 MX host", []string{"MX 10 mx.example.test"}},
		"spf":     {"OK", "one SPF record, 1 of 10 DNS lookups, ending -all", []string{`example.test TXT (asked `, `"v=spf1 mx -all"`}},
		"dmarc":   {"OK", "policy p=reject", []string{"aggregate reports go to mailto:dmarc@example.test"}},
		"mta_sts": {"OK", "mode enforce, every MX listed", []string{"_mta-sts.example.test TXT: id=20261204", "mode enforce, mx mx.example.test, max_age 86400"}},
		"tls_rpt": {"OK", "reports go to mailto:tls@example.test", nil},
		"tlsa":    {"OK", "every MX host has DNSSEC-validated TLSA records", []string{"_25._tcp.mx.example.test TLSA: 3 1 1, DNSSEC-validated"}},
	})
}

// only keeps the verdicts of ids (the others are listed as skipped).
func only(got map[string]Verdict, ids ...string) map[string]Verdict {
	out := map[string]Verdict{}
	for _, id := range ids {
		out[id] = got[id]
	}
	return out
}

// TestDomainRows: each row both ways: its state and summary for what the
// domain publishes.
func TestDomainRows(t *testing.T) {
	many := `example.test. 60 IN TXT "v=spf1` + strings.Repeat(" include:a.example.test", 11) + ` -all"`
	for _, c := range []struct {
		id, state, summary string
		ad                 bool
		policy             string
		records            []string
	}{
		{"mx", "WARNING", "no MX record: senders fall back to the domain's own address (RFC 5321 §5.1), or give up", true, enforce, []string{spfRR}},
		{"mx", "OK", "null MX (RFC 7505): the domain says it receives no mail", true, enforce, []string{"example.test. 60 IN MX 0 ."}},
		{"mx", "CRITICAL", "the lookup of example.test failed: SERVFAIL: the resolver could not get an answer (asked {dns}) - the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator", true, enforce, []string{"example.test. SERVFAIL"}},
		{"spf", "WARNING", "no SPF record: anyone may send as example.test as far as receivers can tell", true, enforce, []string{mxRR}},
		{"spf", "CRITICAL", "the SPF record ends with +all: it lets every host send as example.test", true, enforce, []string{`example.test. 60 IN TXT "v=spf1 a +all"`}},
		{"spf", "CRITICAL", "the SPF record ends with +all: it lets every host send as example.test", true, enforce, []string{`example.test. 60 IN TXT "v=spf1 all"`}},
		{"spf", "WARNING", "the SPF record ends with ?all: neutral, it protects nothing", true, enforce, []string{`example.test. 60 IN TXT "v=spf1 mx ?all"`}},
		{"spf", "WARNING", "the SPF record has no all: hosts it does not list are neutral, not refused", true, enforce, []string{`example.test. 60 IN TXT "v=spf1 ip4:192.0.2.0/24"`}},
		{"spf", "OK", "one SPF record, at least 1 of 10 DNS lookups (include and redirect targets not followed), ending with a redirect", true, enforce, []string{`example.test. 60 IN TXT "v=spf1 redirect=_spf.example.test"`}},
		{"spf", "CRITICAL", "2 SPF records: receivers treat that as an error (permerror, RFC 7208 §4.5)", true, enforce, []string{spfRR, `example.test. 60 IN TXT "v=spf1 -all"`}},
		{"spf", "CRITICAL", "the SPF record needs 11 DNS lookups, more than the 10 allowed (permerror, RFC 7208 §4.6.4)", true, enforce, []string{many}},
		{"spf", "CRITICAL", `the SPF record does not parse: unknown term "mxx" (permerror)`, true, enforce, []string{`example.test. 60 IN TXT "v=spf1 mxx -all"`}},
		{"spf", "CRITICAL", "the SPF record does not parse: ip4:300.1.1.1 is no address or network (permerror)", true, enforce, []string{`example.test. 60 IN TXT "v=spf1 ip4:300.1.1.1 -all"`}},
		{"dmarc", "WARNING", "no DMARC record: receivers apply no policy to mail that fails SPF and DKIM", true, enforce, []string{mxRR}},
		{"dmarc", "WARNING", "policy p=none: mail that fails DMARC is delivered all the same (monitoring only)", true, enforce, []string{`_dmarc.example.test. 60 IN TXT "v=DMARC1; p=none"`}},
		{"dmarc", "OK", "policy p=quarantine", true, enforce, []string{`_dmarc.example.test. 60 IN TXT "v=DMARC1; p=quarantine"`}},
		{"mta_sts", "OK", "no MTA-STS record (informational: senders may deliver over unauthenticated TLS)", true, enforce, []string{mxRR}},
		{"mta_sts", "WARNING", "mode testing: senders report failures but still deliver over unauthenticated TLS", true, "version: STSv1\nmode: testing\nmx: mx.example.test\nmax_age: 86400\n", []string{mxRR, stsRR}},
		{"mta_sts", "CRITICAL", "mode enforce, but the policy does not list MX mx.example.test: senders that honour it will not deliver there", true, "version: STSv1\nmode: enforce\nmx: other.example.test\nmax_age: 86400\n", []string{mxRR, stsRR}},
		{"mta_sts", "OK", "mode none: the policy is withdrawn (informational)", true, "version: STSv1\nmode: none\nmax_age: 86400\n", []string{mxRR, stsRR}},
		{"tls_rpt", "OK", "no TLS-RPT record (informational: nobody hears of failed TLS deliveries)", true, enforce, []string{mxRR}},
		{"tls_rpt", "WARNING", "the TLS-RPT record has no rua=: reports go nowhere", true, enforce, []string{`_smtp._tls.example.test. 60 IN TXT "v=TLSRPTv1"`}},
		{"tlsa", "WARNING", "TLSA records of mx.example.test are not DNSSEC-validated: DANE cannot use them (sign the zone, or ask a validating resolver with --dns-server)", false, enforce, []string{mxRR, tlsaRR}},
		{"tlsa", "OK", "no TLSA records (informational: DANE not used)", true, enforce, []string{mxRR}},
		{"tlsa", "CRITICAL", "the lookup of _25._tcp.mx.example.test failed: SERVFAIL: the resolver could not get an answer (asked {dns}) - the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator", true, enforce, []string{mxRR, "_25._tcp.mx.example.test. SERVFAIL"}},
		{"tlsa", "SKIPPED", "skipped: no MX host to look up (see mx)", true, enforce, []string{"example.test. 60 IN MX 0 ."}},
	} {
		got, _, _ := domainCheck(t, c.ad, c.policy, c.id, c.records...)
		v := got[c.id]
		if v.State != c.state || !strings.HasPrefix(strings.ReplaceAll(v.Summary, dnsOf(v), "{dns}"), c.summary) {
			t.Errorf("%s %q: got %s %q, want %s %q", c.id, c.records, v.State, v.Summary, c.state, c.summary)
		}
	}
}

// dnsOf is the DNS server a summary names after "asked ", for comparing.
func dnsOf(v Verdict) string {
	_, rest, ok := strings.Cut(v.Summary, "(asked ")
	if !ok {
		return "\x00"
	}
	addr, _, _ := strings.Cut(rest, ")")
	return addr
}

func TestDomainUsage(t *testing.T) {
	for _, c := range []struct {
		args   []string
		status string
	}{
		{[]string{"--only", "spf"}, "SMTP SECURITY UNKNOWN - --only spf: spf runs only with --domain (see check_smtp_security --help)"},
		{[]string{"--domain", "localhost"}, `SMTP SECURITY UNKNOWN - --domain "localhost": want a mail domain such as example.org (see check_smtp_security --help)`},
		{[]string{"--domain", "example.org", "--dns-server", "dns.example"}, `SMTP SECURITY UNKNOWN - --dns-server "dns.example": want an IP address with an optional port (see check_smtp_security --help)`},
		{[]string{"--mta-sts-url-base", "https://127.0.0.1:1"}, "SMTP SECURITY UNKNOWN - --mta-sts-url-base needs --domain DOMAIN (see check_smtp_security --help)"},
	} {
		check(t, append([]string{"-H", "192.0.2.1"}, c.args...)...).Expect(t, 3, c.status)
	}
}

// TestDomainStall: a DNS server slower than -t ends the row at the
// deadline, with the timeout's state, naming the name and the server.
func TestDomainStall(t *testing.T) {
	dnsAddr := dnstest.Start(t, true, mxRR, "example.test. SLOW")
	began := time.Now()
	out := check(t, "-H", "127.0.0.1", "-p", "1", "-t", "1", "--domain", "example.test", "--dns-server", dnsAddr, "--only", "spf")
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - spf: no answer for example.test within the 1 s timeout (asked "+dnsAddr+")")
	time.Sleep(time.Until(began.Add(dnstest.SlowDelay + 200*time.Millisecond))) // let the server's late answer go before goleak looks
}
