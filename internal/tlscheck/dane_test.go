package tlscheck

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

const daneHost = "mx.dane.test"

// noADTail is the tail of the finding on a TLSA answer without the AD bit.
const noADTail = "lacks the AD bit: not DNSSEC-validated, so its records are unusable (RFC 7672 §2.2) and the certificate is judged by PKIX alone - is the resolver validating, and is the zone signed?"

// tlsaRR is the TLSA record "u s m" for c at name.
func tlsaRR(name string, u, s, m uint8, c *x509.Certificate) string {
	data := c.Raw
	if s == 1 {
		data = c.RawSubjectPublicKeyInfo
	}
	switch m {
	case 1:
		h := sha256.Sum256(data)
		data = h[:]
	case 2:
		h := sha512.Sum512(data)
		data = h[:]
	}
	return fmt.Sprintf("%s. 60 IN TLSA %d %d %d %s", name, u, s, m, hex.EncodeToString(data))
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDANE matches TLSA records served by an in-process DNS server, with
// and without the AD bit, against the chain of a go-smtp server.
func TestDANE(t *testing.T) {
	now := time.Now()
	root := smtptest.MustNewCA(t, "Test Root")
	inter := mustCA(root.NewIntermediate("Test Intermediate", time.Time{}, time.Time{}))
	opts := func(mod func(*smtptest.LeafOptions)) smtptest.LeafOptions {
		o := smtptest.LeafOptions{DNSNames: []string{daneHost}, NotAfter: now.Add(90*24*time.Hour + time.Hour)}
		if mod != nil {
			mod(&o)
		}
		return o
	}
	valid := inter.MustIssue(t, opts(nil))
	withRoot := valid
	withRoot.Certificate = append(append([][]byte{}, valid.Certificate...), root.Cert.Raw)
	expiredWrongName := inter.MustIssue(t, opts(func(o *smtptest.LeafOptions) {
		o.DNSNames = []string{"other.test"}
		o.NotBefore, o.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	}))
	leaf := mustParse(t, valid.Certificate[0])
	otherRoot := smtptest.MustNewCA(t, "Other Root")
	other := mustParse(t, inter.MustIssue(t, opts(nil)).Certificate[0])

	okLine := func(tail string) string {
		return "SMTP TLS OK - " + daneHost + " ({addr}): TLSv1.3 via STARTTLS, chain verified for " + daneHost +
			`; earliest expiry: certificate "` + daneHost + `" expires in 90 days (` + day(now.Add(90*24*time.Hour+time.Hour)) + "); " + tail
	}
	cases := []struct {
		name    string
		cert    tls.Certificate
		ad      bool
		caFile  bool
		records func(name string) []string
		args    []string
		code    int
		status  string
		details []string
	}{
		{"3 1 1 matches", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 3, 1, 1, leaf)} }, nil,
			0, okLine(`dane: TLSA 3 1 1 matches certificate "mx.dane.test"`),
			[]string{"dane: TLSA 3 1 1 ", "(DANE-EE) matches certificate", "is DNSSEC-validated (AD bit set by"}},
		{"3 0 1 matches", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 3, 0, 1, leaf)} }, nil,
			0, okLine(`dane: TLSA 3 0 1 matches certificate "mx.dane.test"`), nil},
		{"3 1 2 matches", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 3, 1, 2, leaf)} }, nil,
			0, okLine(`dane: TLSA 3 1 2 matches certificate "mx.dane.test"`), nil},
		{"3 1 0 matches", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 3, 1, 0, leaf)} }, nil,
			0, okLine(`dane: TLSA 3 1 0 matches certificate "mx.dane.test"`), nil},
		{"2 0 1 on the intermediate", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 2, 0, 1, inter.Cert)} }, nil,
			0, okLine(`dane: TLSA 2 0 1 matches intermediate "Test Intermediate"`), nil},
		{"2 0 1 on the root sent by the server", withRoot, true, true, func(n string) []string { return []string{tlsaRR(n, 2, 0, 1, root.Cert)} }, nil,
			0, okLine(`dane: TLSA 2 0 1 matches root "Test Root"`), nil},
		{"2 0 1 on a root the server does not send", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 2, 0, 1, root.Cert)} }, nil,
			2, "SMTP TLS CRITICAL - dane: no TLSA record at {tlsa} matches the chain the server sent: 2 0 1 " + rrData(tlsaRR("x", 2, 0, 1, root.Cert)), nil},
		{"2 0 0 carries a root the server does not send", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 2, 0, 0, root.Cert)} }, nil,
			0, okLine(`dane: TLSA 2 0 0 matches root "Test Root"`), nil},
		{"2 0 0 of a root that did not sign the chain", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 2, 0, 0, otherRoot.Cert)} }, nil,
			2, "SMTP TLS CRITICAL - dane: no TLSA record at {tlsa} matches the chain the server sent: 2 0 0 " + rrData(tlsaRR("x", 2, 0, 0, otherRoot.Cert)), nil},
		{"DANE-TA replaces the system roots", valid, true, false, func(n string) []string { return []string{tlsaRR(n, 2, 1, 1, inter.Cert)} }, nil,
			0, "SMTP TLS OK - " + daneHost + " ({addr}): TLSv1.3 via STARTTLS, chain verified for " + daneHost + ` up to the DANE-TA trust anchor; earliest expiry: certificate "` +
				daneHost + `" expires in 90 days (` + day(now.Add(90*24*time.Hour+time.Hour)) + `); dane: TLSA 2 1 1 matches intermediate "Test Intermediate"`,
			[]string{`dane: not judged under DANE-TA (RFC 7672 §3.1): intermediate "Test Intermediate" is issued by "Test Root", which the server did not send`}},
		{"DANE-EE: expiry and name not judged", expiredWrongName, true, false, func(n string) []string {
			return []string{tlsaRR(n, 3, 1, 1, mustParse(t, expiredWrongName.Certificate[0]))}
		}, nil, 0, "SMTP TLS OK - " + daneHost + " ({addr}): TLSv1.3 via STARTTLS, chain not judged under DANE-EE (3 PKIX problems ignored); earliest expiry: certificate \"other.test\" expired on " +
			day(now.Add(-24*time.Hour)) + `; dane: TLSA 3 1 1 matches certificate "other.test"`,
			[]string{`dane: not judged under DANE-EE (RFC 7672 §3.1): certificate "other.test" expired on`,
				`dane: not judged under DANE-EE (RFC 7672 §3.1): certificate "other.test" is not valid for mx.dane.test`,
				// The leaf expired before its intermediate began: trust is judged all the same.
				`dane: not judged under DANE-EE (RFC 7672 §3.1): intermediate "Test Intermediate" is issued by "Test Root", which the server did not send`}},
		{"DANE-EE: one PKIX problem", valid, true, false, func(n string) []string { return []string{tlsaRR(n, 3, 1, 1, leaf)} }, nil,
			0, "SMTP TLS OK - " + daneHost + " ({addr}): TLSv1.3 via STARTTLS, chain not judged under DANE-EE (1 PKIX problem ignored); earliest expiry: certificate \"" +
				daneHost + `" expires in 90 days (` + day(now.Add(90*24*time.Hour+time.Hour)) + `); dane: TLSA 3 1 1 matches certificate "` + daneHost + `"`, nil},
		{"DANE-EE: expiry thresholds not judged", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 3, 1, 1, leaf)} }, []string{"-w", "100", "-c", "95"},
			0, okLine(`dane: TLSA 3 1 1 matches certificate "mx.dane.test"`),
			[]string{`dane: not judged under DANE-EE (RFC 7672 §3.1.1): certificate "mx.dane.test" expires in 90 days`}},
		{"mismatch names the records", valid, true, true, func(n string) []string {
			return []string{tlsaRR(n, 3, 1, 1, other), tlsaRR(n, 2, 0, 1, other)}
		}, nil, 2, "SMTP TLS CRITICAL - dane: no TLSA record at {tlsa} matches the chain the server sent: 3 1 1 " +
			rrData(tlsaRR("x", 3, 1, 1, other)) + ", 2 0 1 " + rrData(tlsaRR("x", 2, 0, 1, other)), []string{"matches no certificate the server sent"}},
		{"expired leaf without DANE-EE stays CRITICAL", expiredWrongName, true, true, func(n string) []string { return []string{tlsaRR(n, 2, 0, 1, inter.Cert)} }, nil,
			2, `SMTP TLS CRITICAL - certificate "other.test" expired on ` + day(now.Add(-24*time.Hour)) + `; certificate "other.test" is not valid for mx.dane.test (valid for other.test): check the name, or give the one the server should be known by with --sni-name or --verify-name`, nil},
		{"no records", valid, true, true, func(n string) []string { return nil }, nil,
			2, "SMTP TLS CRITICAL - dane: no TLSA records at {tlsa} (asked {dns}): the server cannot be authenticated by DANE (--dane)", nil},
		{"SERVFAIL", valid, true, true, func(n string) []string { return []string{n + " SERVFAIL"} }, nil,
			2, "SMTP TLS CRITICAL - dane: the TLSA lookup for {tlsa} failed: SERVFAIL: the resolver could not get an answer (asked {dns}) - the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator", nil},
		{"REFUSED", valid, true, true, func(n string) []string { return []string{n + " REFUSED"} }, nil,
			2, "SMTP TLS CRITICAL - dane: the TLSA lookup for {tlsa} failed: REFUSED: the server will not answer this query (asked {dns}) - it is no recursive resolver for this client (an authoritative-only server, or its access rules): point --dns-server at a resolver that serves this client", nil},
		{"usages 0 and 1 ignored", valid, true, true, func(n string) []string { return []string{tlsaRR(n, 1, 1, 1, leaf), tlsaRR(n, 0, 0, 1, root.Cert)} }, nil,
			2, "SMTP TLS CRITICAL - dane: none of the 2 TLSA records at {tlsa} applies to SMTP (usages 0 and 1 do not, RFC 7672 §3.1.3)",
			[]string{"ignored: usage PKIX-TA/PKIX-EE does not apply to SMTP (RFC 7672 §3.1.3)"}},
		{"no AD bit", valid, false, true, func(n string) []string { return []string{tlsaRR(n, 3, 1, 1, leaf)} }, nil,
			1, "SMTP TLS WARNING - dane: the TLSA answer for {tlsa} from {dns} lacks the AD bit: not DNSSEC-validated, so its records are unusable (RFC 7672 §2.2) and the certificate is judged by PKIX alone - is the resolver validating, and is the zone signed?",
			[]string{`(DANE-EE) matches certificate "mx.dane.test" (not DNSSEC-validated: unusable)`}},
		// RFC 7672 §2.2: an unvalidated TLSA set neither passes nor fails;
		// the chain is judged by PKIX as without it.
		{"no AD bit: a mismatch does not fail", valid, false, true, func(n string) []string { return []string{tlsaRR(n, 3, 1, 1, other)} }, nil,
			1, "SMTP TLS WARNING - dane: the TLSA answer for {tlsa} from {dns} " + noADTail,
			[]string{"(DANE-EE) matches no certificate the server sent (not DNSSEC-validated: unusable)", "chain: verified for mx.dane.test against --ca-file"}},
		{"no AD bit: usages 0 and 1 do not fail", valid, false, true, func(n string) []string { return []string{tlsaRR(n, 1, 1, 1, leaf)} }, nil,
			1, "SMTP TLS WARNING - dane: the TLSA answer for {tlsa} from {dns} " + noADTail,
			[]string{"ignored: usage PKIX-TA/PKIX-EE does not apply to SMTP (RFC 7672 §3.1.3) (not DNSSEC-validated: unusable)"}},
		{"no AD bit: a mismatch with an untrusted chain is PKIX's CRITICAL, the qualifier below", valid, false, false, func(n string) []string { return []string{tlsaRR(n, 3, 1, 1, other)} }, nil,
			2, `SMTP TLS CRITICAL - intermediate "Test Intermediate" is issued by "Test Root", which the server did not send and which is not in the system roots (missing intermediate? or a private CA: give it with --ca-file)`,
			[]string{"\n[WARNING] dane: the TLSA answer for ", noADTail, "(not DNSSEC-validated: unusable)"}},
		{"no AD bit, --dane-insecure-state critical", valid, false, true, func(n string) []string { return []string{tlsaRR(n, 3, 1, 1, leaf)} },
			[]string{"--dane-insecure-state", "critical"},
			2, "SMTP TLS CRITICAL - dane: the TLSA answer for {tlsa} from {dns} lacks the AD bit: not DNSSEC-validated, so its records are unusable (RFC 7672 §2.2) and the certificate is judged by PKIX alone - is the resolver validating, and is the zone signed?", nil},
		{"no AD bit: DANE-EE does not excuse expiry", expiredWrongName, false, true, func(n string) []string {
			return []string{tlsaRR(n, 3, 1, 1, mustParse(t, expiredWrongName.Certificate[0]))}
		}, nil, 2, `SMTP TLS CRITICAL - certificate "other.test" expired on ` + day(now.Add(-24*time.Hour)) + `; certificate "other.test" is not valid for mx.dane.test (valid for other.test): check the name, or give the one the server should be known by with --sni-name or --verify-name`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ca := root
			if !tc.caFile {
				ca = nil
			}
			l := serve(t, ca, tc.cert, smtptest.Config{}, nil)
			name := "_" + l.port + "._tcp." + daneHost
			dnsAddr := dnstest.Start(t, tc.ad, append(tc.records(name), daneHost+". 60 IN A 127.0.0.1")...)
			args := []string{"-H", daneHost, "-p", l.port, "-t", "5", "-4", "--dane", "--dns-server", dnsAddr}
			if tc.caFile {
				args = append(args, "--ca-file", l.caFile)
			}
			o := check(t, append(args, tc.args...)...)
			want := strings.NewReplacer("{addr}", l.srv.Addr, "{tlsa}", name, "{dns}", dnsAddr).Replace(tc.status)
			o.Expect(t, tc.code, want)
			o.Contains(t, tc.details...)
		})
	}
}

// rrData is the shortened data of a TLSA record line, as messages show it.
func rrData(rr string) string {
	f := strings.Fields(rr)
	return f[len(f)-1][:16] + "..."
}

// TestDANECNAME: a host that is an alias (CNAME) has its TLSA records
// looked up at the fully expanded name first when DNSSEC vouches for the
// chain, at its own name otherwise or when the expanded name has none
// (RFC 7672 §2.2.2); under DANE-TA the certificate may carry the expanded
// name (§3.2.2).
func TestDANECNAME(t *testing.T) {
	const alias = "mail.hoster.test"
	now := time.Now()
	root := smtptest.MustNewCA(t, "Test Root")
	inter := mustCA(root.NewIntermediate("Test Intermediate", time.Time{}, time.Time{}))
	issue := func(names ...string) tls.Certificate {
		return inter.MustIssue(t, smtptest.LeafOptions{DNSNames: names, NotAfter: now.Add(90*24*time.Hour + time.Hour)})
	}
	both, aliasOnly := issue(daneHost, alias), issue(alias)
	leaf := mustParse(t, both.Certificate[0])
	other := mustParse(t, issue(daneHost).Certificate[0])
	expiry := "; earliest expiry: certificate \"" + daneHost + "\" expires in 90 days (" + day(now.Add(90*24*time.Hour+time.Hour)) + "); "
	cases := []struct {
		name    string
		cert    tls.Certificate
		records func(hostTLSA, aliasTLSA string) []string
		code    int
		status  string
		details []string
	}{
		{"the expanded name's records count", both, func(h, a string) []string {
			return []string{tlsaRR(a, 3, 1, 1, leaf), tlsaRR(h, 3, 1, 1, other)}
		}, 0, "SMTP TLS OK - " + daneHost + " ({addr}): TLSv1.3 via STARTTLS, chain verified for " + daneHost + expiry + `dane: TLSA 3 1 1 matches certificate "` + daneHost + `"`,
			[]string{"dane: " + daneHost + " is an alias (CNAME) of " + alias + ", DNSSEC-validated: its TLSA records count (RFC 7672 §2.2.2)",
				"dane: the TLSA answer for _{port}._tcp." + alias + " is DNSSEC-validated"}},
		{"none at the expanded name: the host's own", both, func(h, a string) []string {
			return []string{tlsaRR(h, 3, 1, 1, leaf)}
		}, 0, "SMTP TLS OK - " + daneHost + " ({addr}): TLSv1.3 via STARTTLS, chain verified for " + daneHost + expiry + `dane: TLSA 3 1 1 matches certificate "` + daneHost + `"`,
			[]string{"dane: " + daneHost + " is an alias (CNAME) of " + alias + ", DNSSEC-validated, which has no TLSA records: the host's own count (RFC 7672 §2.2.2)",
				"dane: the TLSA answer for _{port}._tcp." + daneHost + " is DNSSEC-validated"}},
		{"an insecure alias is not followed", both, func(h, a string) []string {
			return []string{tlsaRR(a, 3, 1, 1, leaf), tlsaRR(h, 3, 1, 1, other), alias + " INSECURE"}
		}, 2, "SMTP TLS CRITICAL - dane: no TLSA record at _{port}._tcp." + daneHost + " matches the chain the server sent: 3 1 1 " + rrData(tlsaRR("x", 3, 1, 1, other)),
			[]string{"dane: " + daneHost + " is an alias (CNAME) of " + alias + ", without DNSSEC validation: TLSA records are looked up at the host's own name only (RFC 7672 §2.2.2)"}},
		{"DANE-TA: the certificate may carry the expanded name", aliasOnly, func(h, a string) []string {
			return []string{tlsaRR(a, 2, 0, 1, inter.Cert)}
		}, 0, "SMTP TLS OK - " + daneHost + " ({addr}): TLSv1.3 via STARTTLS, chain verified for " + alias + " up to the DANE-TA trust anchor; earliest expiry: certificate \"" + alias +
			"\" expires in 90 days (" + day(now.Add(90*24*time.Hour+time.Hour)) + `); dane: TLSA 2 0 1 matches intermediate "Test Intermediate"`, []string{`dane: certificate "` + alias + `" is valid for ` + alias + ", the TLSA base domain (RFC 7672 §3.2.2)"}},
		{"DANE-TA at the host's own name: it may not", aliasOnly, func(h, a string) []string {
			return []string{tlsaRR(h, 2, 0, 1, inter.Cert)}
		}, 2, `SMTP TLS CRITICAL - certificate "` + alias + `" is not valid for ` + daneHost + " (valid for " + alias + "): check the name, or give the one the server should be known by with --sni-name or --verify-name", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := serve(t, root, tc.cert, smtptest.Config{}, nil)
			hostTLSA, aliasTLSA := "_"+l.port+"._tcp."+daneHost, "_"+l.port+"._tcp."+alias
			dnsAddr := dnstest.Start(t, true, append(tc.records(hostTLSA, aliasTLSA),
				daneHost+". 60 IN CNAME "+alias+".", alias+". 60 IN A 127.0.0.1")...)
			o := check(t, "-H", daneHost, "-p", l.port, "-t", "5", "-4", "--dane", "--dns-server", dnsAddr, "--ca-file", l.caFile)
			r := strings.NewReplacer("{addr}", l.srv.Addr, "{port}", l.port)
			o.Expect(t, tc.code, r.Replace(tc.status))
			for _, d := range tc.details {
				o.Contains(t, r.Replace(d))
			}
		})
	}
}

func TestDANEUsage(t *testing.T) {
	check(t, "-H", "127.0.0.1", "--dane").Expect(t, 3,
		"SMTP TLS UNKNOWN - --dane and --mta-sts need the MX host name: give -H NAME, or --verify-name NAME with an address (see check_smtp_tls --help)")
	check(t, "-H", "mx.test", "--dane", "--dns-server", "dns.example").Expect(t, 3,
		`SMTP TLS UNKNOWN - --dns-server "dns.example": want an IP address with an optional port (see check_smtp_tls --help)`)
	check(t, "-H", "mx.test", "--dane-insecure-state", "maybe").Expect(t, 3,
		`SMTP TLS UNKNOWN - --dane-insecure-state: unknown state "maybe" (want OK, WARNING, CRITICAL or UNKNOWN) (see check_smtp_tls --help)`)
}

// TestDANEDeadline: a resolver that never answers ends the check within -t,
// naming the TLSA lookup.
func TestDANEDeadline(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{daneHost}}), smtptest.Config{}, nil)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	o := check(t, "-H", "127.0.0.1", "-p", l.port, "--verify-name", daneHost, "--ca-file", l.caFile, "-t", "1",
		"--dane", "--dns-server", pc.LocalAddr().String())
	o.Expect(t, 2, "SMTP TLS CRITICAL - dane: no answer for the TLSA records at _"+l.port+"._tcp."+daneHost+
		" within the 1 s timeout (asked "+pc.LocalAddr().String()+")")
	o.Within(t, time.Second)
}

// TestDNSServers: without --dns-server the servers of resolv.conf are
// asked, in order, on their port 53.
func TestDNSServers(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("nameserver 127.0.0.53\nnameserver ::1\noptions timeout:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := resolvConf
	resolvConf = conf
	defer func() { resolvConf = old }()
	var o Options
	if got, err := o.dns().Servers(context.Background()); err != nil || strings.Join(got, " ") != "127.0.0.53:53 [::1]:53" {
		t.Errorf("from resolv.conf: %v %v", got, err)
	}
}
