package tlscheck

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

var localSAN = smtptest.LeafOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}

// leafNotAfter is every default leaf's expiry: one instant, so that the
// expected "expires ... (date)" texts cannot straddle a minute boundary.
var leafNotAfter = time.Now().Add(90*24*time.Hour + time.Hour)

func leafOpts(mod func(*smtptest.LeafOptions)) smtptest.LeafOptions {
	o := localSAN
	o.NotAfter = leafNotAfter
	if mod != nil {
		mod(&o)
	}
	return o
}

// lab is a go-smtp server serving cert; caFile holds the root of ca.
type lab struct {
	srv    *smtptest.Server
	caFile string
	port   string
}

func serve(t *testing.T, ca *smtptest.CA, cert tls.Certificate, cfg smtptest.Config, tcfg *tls.Config) lab {
	t.Helper()
	if tcfg == nil {
		tcfg = &tls.Config{}
	}
	tcfg.Certificates = []tls.Certificate{cert}
	cfg.TLS = tcfg
	l := lab{}
	if ca != nil {
		l.caFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := ca.WriteCAFile(l.caFile); err != nil {
			t.Fatal(err)
		}
	}
	l.srv = smtptest.MustStart(t, cfg)
	l.port = strconv.Itoa(l.srv.Port)
	return l
}

func (l lab) args(extra ...string) []string {
	a := []string{"-H", "127.0.0.1", "-p", l.port, "-t", "5"}
	if l.caFile != "" {
		a = append(a, "--ca-file", l.caFile)
	}
	return append(a, extra...)
}

func mustCA(ca *smtptest.CA, err error) *smtptest.CA {
	if err != nil {
		panic(err)
	}
	return ca
}

func day(tm time.Time) string { return tm.UTC().Format("2006-01-02 15:04 MST") }

func TestCertificates(t *testing.T) {
	now := time.Now()
	root := smtptest.MustNewCA(t, "Test Root")
	inter := mustCA(root.NewIntermediate("Test Intermediate", time.Time{}, time.Time{}))
	shortInter := mustCA(root.NewIntermediate("Short Intermediate", time.Time{}, now.Add(10*24*time.Hour+time.Hour)))
	int2 := mustCA(inter.NewIntermediate("Second Intermediate", time.Time{}, time.Time{}))
	rsaRoot := mustCA(smtptest.NewRSACA("RSA Root", 2048))

	okLine := func(mode string) string {
		return "SMTP TLS OK - {addr}: TLSv1.3 via " + mode + ", chain verified for 127.0.0.1; earliest expiry: certificate \"localhost\" expires in 90 days (" + day(leafNotAfter) + ")"
	}

	valid := inter.MustIssue(t, leafOpts(nil))
	missing := valid
	missing.Certificate = missing.Certificate[:1]
	deep := int2.MustIssue(t, leafOpts(nil))
	deep.Certificate = [][]byte{deep.Certificate[0], deep.Certificate[2], deep.Certificate[1]} // leaf, Test Intermediate, Second Intermediate
	selfSigned, err := smtptest.SelfSigned(leafOpts(nil))
	if err != nil {
		t.Fatal(err)
	}
	ipOnly := inter.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) { o.DNSNames, o.CommonName = nil, "ip leaf" }))
	sha1 := rsaRoot.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) {
		o.RSABits, o.SignatureAlgorithm = 2048, x509.SHA1WithRSA
	}))
	stapled := valid
	stapled.OCSPStaple = []byte("not an OCSP response")

	cases := []struct {
		name   string
		lab    lab
		args   []string
		code   int
		status string
	}{
		{"valid chain with intermediate", serve(t, root, valid, smtptest.Config{}, nil), nil, 0, okLine("STARTTLS")},
		{"implicit TLS", serve(t, root, valid, smtptest.Config{Implicit: true}, nil), []string{"-s"}, 0, okLine("implicit TLS")},
		{"name via --verify-name", serve(t, root, valid, smtptest.Config{}, nil), []string{"--verify-name", "localhost"}, 0,
			strings.Replace(okLine("STARTTLS"), "for 127.0.0.1", "for localhost", 1)},
		{"IP SAN matches 127.0.0.1", serve(t, root, ipOnly, smtptest.Config{}, nil), nil, 0,
			strings.Replace(okLine("STARTTLS"), `"localhost"`, `"ip leaf"`, 1)},
		{"expired leaf", serve(t, root, inter.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) {
			o.NotBefore, o.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
		})), smtptest.Config{}, nil), nil, 2,
			`SMTP TLS CRITICAL - certificate "localhost" expired on ` + day(now.Add(-24*time.Hour))},
		{"not yet valid", serve(t, root, inter.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) {
			o.NotBefore = now.Add(48 * time.Hour)
		})), smtptest.Config{}, nil), nil, 2,
			`SMTP TLS CRITICAL - certificate "localhost" is not valid before ` + day(now.Add(48*time.Hour))},
		{"intermediate expires before the leaf", serve(t, root, shortInter.MustIssue(t, leafOpts(nil)), smtptest.Config{}, nil), nil, 2,
			`SMTP TLS CRITICAL - intermediate "Short Intermediate" expires in 10 days (` + day(shortInter.Cert.NotAfter) + ")"},
		{"intermediate within the warning days", serve(t, root, shortInter.MustIssue(t, leafOpts(nil)), smtptest.Config{}, nil), []string{"-c", "7"}, 1,
			`SMTP TLS WARNING - intermediate "Short Intermediate" expires in 10 days (` + day(shortInter.Cert.NotAfter) + ")"},
		{"check_smtp -D", serve(t, root, valid, smtptest.Config{}, nil), []string{"-D", "100,95"}, 2,
			`SMTP TLS CRITICAL - certificate "localhost" expires in 90 days (` + day(leafNotAfter) + ")"},
		{"Nagios range for days", serve(t, root, valid, smtptest.Config{}, nil), []string{"-w", "@80:95"}, 1,
			`SMTP TLS WARNING - certificate "localhost" expires in 90 days (` + day(leafNotAfter) + ")"},
		{"self-signed", serve(t, nil, selfSigned, smtptest.Config{}, nil), nil, 2,
			`SMTP TLS CRITICAL - certificate "localhost" is self-signed and not trusted by the system roots; if it is a private CA: give it with --ca-file`},
		{"wrong name", serve(t, root, valid, smtptest.Config{}, nil), []string{"--verify-name", "mx.other.test"}, 2,
			`SMTP TLS CRITICAL - certificate "localhost" is not valid for mx.other.test (valid for localhost, 127.0.0.1): check the name, or give the one the server should be known by with --sni-name or --verify-name`},
		{"wrong name via --sni-name", serve(t, root, valid, smtptest.Config{}, nil), []string{"--sni-name", "mx.other.test"}, 2,
			`SMTP TLS CRITICAL - certificate "localhost" is not valid for mx.other.test (valid for localhost, 127.0.0.1): check the name, or give the one the server should be known by with --sni-name or --verify-name`},
		{"RSA 1024", serve(t, root, inter.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) { o.RSABits = 1024 })), smtptest.Config{}, nil), nil, 2,
			`SMTP TLS CRITICAL - certificate "localhost" has a 1024-bit RSA key (--min-rsa-bits 2048)`},
		{"RSA 1024 allowed", serve(t, root, inter.MustIssue(t, leafOpts(func(o *smtptest.LeafOptions) { o.RSABits = 1024 })), smtptest.Config{}, nil),
			[]string{"--min-rsa-bits", "1024"}, 0, okLine("STARTTLS")},
		{"SHA-1 signed", serve(t, rsaRoot, sha1, smtptest.Config{}, nil), nil, 1,
			`SMTP TLS WARNING - certificate "localhost" is signed with SHA-1 (SHA1-RSA)`},
		{"SHA-1 signed, --sha1-state critical", serve(t, rsaRoot, sha1, smtptest.Config{}, nil), []string{"--sha1-state", "critical"}, 2,
			`SMTP TLS CRITICAL - certificate "localhost" is signed with SHA-1 (SHA1-RSA)`},
		{"SHA-1 signed by an unknown CA", serve(t, root, sha1, smtptest.Config{}, nil), nil, 2,
			`SMTP TLS CRITICAL - certificate "localhost" is issued by "RSA Root", which the server did not send and which is not in --ca-file {cafile} (missing intermediate?)`},
		{"missing intermediate", serve(t, root, missing, smtptest.Config{}, nil), nil, 2,
			`SMTP TLS CRITICAL - certificate "localhost" is issued by "Test Intermediate", which the server did not send and which is not in --ca-file {cafile} (missing intermediate?)`},
		{"chain in the wrong order", serve(t, root, deep, smtptest.Config{}, nil), nil, 1,
			`SMTP TLS WARNING - chain: "localhost" is followed by "Test Intermediate", not by its issuer "Second Intermediate": the server sends its chain out of order`},
		{"--min-tls 1.3 against a TLS 1.2 server", serve(t, root, valid, smtptest.Config{}, &tls.Config{MaxVersion: tls.VersionTLS12}),
			[]string{"--min-tls", "1.3"}, 2, "SMTP TLS CRITICAL - tls: negotiated TLSv1.2, below --min-tls TLSv1.3"},
		{"no OCSP staple required", serve(t, root, valid, smtptest.Config{}, nil), []string{"--require-ocsp-staple"}, 2,
			"SMTP TLS CRITICAL - tls: the server staples no OCSP response (--require-ocsp-staple)"},
		{"OCSP staple unusable", serve(t, root, stapled, smtptest.Config{}, nil), []string{"--require-ocsp-staple"}, 1,
			"SMTP TLS WARNING - ocsp: the stapled response (20 bytes) cannot be used: it is not a DER-encoded OCSP response"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := check(t, tc.lab.args(tc.args...)...)
			want := strings.NewReplacer("{addr}", tc.lab.srv.Addr, "{cafile}", tc.lab.caFile).Replace(tc.status)
			o.Expect(t, tc.code, want)
		})
	}
}

// TestLongOutputAndPerfdata: every element is listed with its key,
// signature and lifetime; the perfdata carry days and timings.
func TestLongOutputAndPerfdata(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	inter := mustCA(root.NewIntermediate("Test Intermediate", time.Time{}, time.Time{}))
	l := serve(t, root, inter.MustIssue(t, leafOpts(nil)), smtptest.Config{}, nil)
	o := check(t, l.args()...)
	o.Contains(t, "tls: TLSv1.3 TLS_", "via STARTTLS, SNI none",
		`[0] certificate "localhost" issued by "Test Intermediate": ECDSA 256 bits, signed ECDSA-SHA256;`,
		"(lifetime 90 days), 90 days left; SAN localhost, 127.0.0.1",
		`[1] intermediate "Test Intermediate" issued by "Test Root"`,
		"chain: verified for 127.0.0.1 against --ca-file", "ocsp: no stapled response",
		"'cert_days'=90;30:;14:;; 'chain_min_days'=90;30:;14:;;", "'handshake'=", "'starttls'=", "'connect'=")
}
