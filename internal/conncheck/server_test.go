package conncheck

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

const (
	testUser = "mon@lab.test"
	testPass = "s3cret-Pass-42"
)

// lab is a real go-smtp server with a certificate from a test CA.
type lab struct {
	srv    *smtptest.Server
	caFile string
	port   string
}

func newLab(t testing.TB, cfg smtptest.Config, leaf smtptest.LeafOptions) lab {
	t.Helper()
	ca := smtptest.MustNewCA(t, "smtpcheck test CA")
	if leaf.DNSNames == nil && leaf.IPs == nil {
		leaf.DNSNames = []string{"localhost"}
		leaf.IPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	cert := ca.MustIssue(t, leaf)
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	if cfg.Users == nil {
		cfg.Users = map[string]string{testUser: testPass}
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := ca.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	srv := smtptest.MustStart(t, cfg)
	return lab{srv: srv, caFile: caFile, port: strconv.Itoa(srv.Port)}
}

func (l lab) args(extra ...string) []string {
	return append([]string{"-H", "127.0.0.1", "-p", l.port, "-t", "5"}, extra...)
}

func TestRealServer(t *testing.T) {
	plain := newLab(t, smtptest.Config{AuthRequiresTLS: true}, smtptest.LeafOptions{})
	smtps := newLab(t, smtptest.Config{Implicit: true}, smtptest.LeafOptions{})
	expiring := newLab(t, smtptest.Config{}, smtptest.LeafOptions{
		DNSNames: []string{"localhost"}, NotAfter: time.Now().Add(20*24*time.Hour + time.Hour)})
	expired := newLab(t, smtptest.Config{}, smtptest.LeafOptions{
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	rejecting := newLab(t, smtptest.Config{RejectRcpt: map[string]*smtp.SMTPError{
		"nobody@lab.test": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}}, smtptest.LeafOptions{})

	cases := []struct {
		name   string
		lab    lab
		args   []string
		code   int
		status string
	}{
		{"plain", plain, nil, 0, "SMTP OK - {addr} answered in T s"},
		{"STARTTLS", plain, []string{"-S"}, 0, "SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"implicit TLS", smtps, []string{"-s"}, 0, "SMTP OK - {addr} answered in T s (TLS TLSv1.3)"},
		{"implicit TLS via --tls", smtps, []string{"--tls"}, 0, "SMTP OK - {addr} answered in T s (TLS TLSv1.3)"},
		{"untrusted certificate with --verify", plain, []string{"-S", "--verify"}, 2,
			`SMTP CRITICAL - tls: certificate does not verify: x509: certificate signed by unknown authority - add --ca-file with the CA that signed it ("smtpcheck test CA")`},
		{"trusted certificate with --verify", plain, []string{"-S", "--verify", "--ca-file", plain.caFile}, 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"wrong name with --verify", plain, []string{"-S", "--verify", "--ca-file", plain.caFile, "--verify-name", "mx.other.test"}, 2,
			"SMTP CRITICAL - tls: certificate does not verify: x509: certificate is valid for localhost, not mx.other.test - give --verify-name with a name the certificate carries, or fix the certificate"},
		{"certificate days warning", expiring, []string{"-D", "30,14"}, 1,
			"SMTP WARNING - certificate \"localhost\" expires in 20 days (" + time.Now().Add(20*24*time.Hour+time.Hour).UTC().Format("2006-01-02 15:04 MST") + ")"},
		{"certificate days ignored", expiring, []string{"-D", "30,14", "--ignore-certificate-expiration"}, 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"expired certificate", expired, []string{"-S", "-D", "30"}, 2,
			"SMTP CRITICAL - certificate \"localhost\" expired on " + time.Now().Add(-24*time.Hour).UTC().Format("2006-01-02 15:04 MST")},
		{"AUTH LOGIN", plain, []string{"-S", "--ca-file", plain.caFile, "-A", "LOGIN", "-U", testUser, "-P", testPass}, 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3, AUTH LOGIN)"},
		// check_smtp would send them; whoever is in the middle would get them.
		{"AUTH with an unverified certificate: credentials not sent", plain, []string{"-S", "-A", "LOGIN", "-U", testUser, "-P", testPass}, 2,
			"SMTP CRITICAL - auth: credentials not sent: the certificate of {addr} does not verify (x509: certificate signed by unknown authority) - add --ca-file with the CA that signed it (\"smtpcheck test CA\"), or add --insecure to send them anyway"},
		{"AUTH with an unverified certificate and --insecure", plain, []string{"-S", "--insecure", "-A", "LOGIN", "-U", testUser, "-P", testPass}, 0,
			"SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3, certificate NOT verified: --insecure, AUTH LOGIN)"},
		{"AUTH PLAIN over implicit TLS", smtps, []string{"-s", "--ca-file", smtps.caFile, "-A", "plain", "-U", testUser, "-P", testPass}, 0,
			"SMTP OK - {addr} answered in T s (TLS TLSv1.3, AUTH PLAIN)"},
		{"AUTH wrong password", plain, []string{"-S", "--ca-file", plain.caFile, "-A", "LOGIN", "-U", testUser, "-P", "wrong-" + testPass}, 2,
			`SMTP CRITICAL - auth: "535 5.7.8 Authentication failed" ({addr}) - wrong user name or password`},
		{"AUTH refused without TLS", plain, []string{"-A", "LOGIN", "-U", testUser, "-P", testPass}, 3,
			"SMTP UNKNOWN - auth: refused to send the password unencrypted: add -S (STARTTLS) or -s, or --allow-plaintext"},
		{"AUTH not offered before TLS", plain, []string{"-A", "LOGIN", "-U", testUser, "-P", testPass, "--allow-plaintext"}, 2,
			"SMTP CRITICAL - auth: server does not offer AUTH LOGIN (offers: none; the server offers STARTTLS, and many offer AUTH only inside TLS: add -S)"},
		{"--require-ext AUTH before TLS", plain, []string{"--require-ext", "auth"}, 2,
			"SMTP CRITICAL - ehlo: required extension AUTH not offered (the server offers STARTTLS, and many offer AUTH only inside TLS: add -S)"},
		{"--require-ext AUTH inside TLS", plain, []string{"-S", "--require-ext", "auth"}, 0, "SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"RCPT accepted and rejected", rejecting, []string{"-f", "mon@lab.test", "--rcpt", "postmaster@lab.test", "--rcpt", "nobody@lab.test"}, 2,
			`SMTP CRITICAL - rcpt <nobody@lab.test>: "550 5.1.1 no such user" - the recipient does not exist on this server`},
		{"RCPT accepted", rejecting, []string{"--mail-from", "<mon@lab.test>", "--rcpt", "<postmaster@lab.test>"}, 0,
			"SMTP OK - {addr} answered in T s (1 RCPT accepted)"},
		{"-C/-R match", plain, []string{"-C", "NOOP", "-R", "^250"}, 0, "SMTP OK - {addr} answered in T s"},
		{"-C/-R mismatch", plain, []string{"-C", "NOOP", "-R", "^354"}, 1,
			`SMTP WARNING - command "NOOP": reply "250 2.0.0 I have successfully done nothing" does not match "^354"`},
		{"-e mismatch", plain, []string{"-e", "Postfix"}, 1,
			`SMTP WARNING - banner: expected "Postfix" not found in the greeting or EHLO reply: "220 mx.test ESMTP Service Ready"`},
		{"-e found in EHLO reply", plain, []string{"-e", "PIPELINING"}, 0, "SMTP OK - {addr} answered in T s"},
		{"--expect-regex mismatch", plain, []string{"--expect-regex", "^220 mail\\."}, 1,
			`SMTP WARNING - banner: "220 mx.test ESMTP Service Ready" does not match --expect-regex "^220 mail\\."`},
		{"--require-ext", plain, []string{"--require-ext", "chunking", "--require-ext", "smtputf8"}, 2,
			"SMTP CRITICAL - ehlo: required extension SMTPUTF8 not offered"},
		{"--forbid-ext", plain, []string{"--forbid-ext", "pipelining"}, 2,
			"SMTP CRITICAL - ehlo: forbidden extension PIPELINING offered"},
		// RFC 3207 §4.2: STARTTLS is offered before TLS, never again inside.
		{"--require-ext STARTTLS with -S", plain, []string{"-S", "--require-ext", "starttls"}, 0, "SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
		{"--forbid-ext STARTTLS with -S", plain, []string{"-S", "--forbid-ext", "STARTTLS"}, 2,
			"SMTP CRITICAL - ehlo: forbidden extension STARTTLS offered"},
		{"--verify without -S or -s implies STARTTLS", plain, []string{"--verify"}, 2,
			`SMTP CRITICAL - tls: certificate does not verify: x509: certificate signed by unknown authority - add --ca-file with the CA that signed it ("smtpcheck test CA")`},
		{"total time critical", plain, []string{"-w", "5", "-c=-1:0"}, 2,
			"SMTP CRITICAL - response time T s (critical -1:0)"},
		{"phase threshold", plain, []string{"--phase-warning", "banner:@0:10"}, 1,
			"SMTP WARNING - banner time T s (warning @0:10)"},
		{"-D without -S or -s implies STARTTLS", plain, []string{"-D", "5"}, 0, "SMTP OK - {addr} answered in T s (STARTTLS TLSv1.3)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := check(t, tc.lab.args(tc.args...)...)
			o.Expect(t, tc.code, strings.ReplaceAll(tc.status, "{addr}", tc.lab.srv.Addr))
		})
	}
}

func TestPerfdata(t *testing.T) {
	l := newLab(t, smtptest.Config{}, smtptest.LeafOptions{})
	o := check(t, l.args("-S", "-w", "3", "-c", "4", "--phase-critical", "banner:2", "-f", "a@lab.test", "--rcpt", "b@lab.test", "-q")...)
	got := regexpNum.ReplaceAllString(o.Perf(), "=Ns")
	want := "'banner'=Ns;;2;0; 'connect'=Ns;;;0; 'dns'=Ns;;;0; 'ehlo'=Ns;;;0; 'ehlo_tls'=Ns;;;0; 'mail'=Ns;;;0; " +
		"'quit'=Ns;;;0; 'rcpt'=Ns;;;0; 'rset'=Ns;;;0; 'starttls'=Ns;;;0; 'time'=Ns;3;4;0; 'total'=Ns;3;4;0;"
	if got != want {
		t.Errorf("perfdata\n got %s\nwant %s", got, want)
	}
}

func TestSecretsNeverShown(t *testing.T) {
	l := newLab(t, smtptest.Config{}, smtptest.LeafOptions{})
	b64 := base64.StdEncoding.EncodeToString([]byte("\x00" + testUser + "\x00" + testPass))
	for _, pass := range []string{testPass, "wrong-" + testPass} {
		for _, extra := range [][]string{{"-v"}, {"-vv"}, {"-v", "--output", "json"}} {
			args := append(l.args("-S", "--ca-file", l.caFile, "-A", "PLAIN", "-U", testUser, "-P", pass), extra...)
			o := check(t, args...)
			for _, secret := range []string{pass, b64, base64.StdEncoding.EncodeToString([]byte(pass))} {
				if strings.Contains(o.Out, secret) {
					t.Errorf("%v: output contains a secret %q:\n%s", extra, secret, o.Out)
				}
			}
			if !strings.Contains(o.Out, "C: AUTH PLAIN <redacted>") {
				t.Errorf("%v: transcript lacks the redacted AUTH line:\n%s", extra, o.Out)
			}
		}
	}
}

func TestJSONOutput(t *testing.T) {
	l := newLab(t, smtptest.Config{}, smtptest.LeafOptions{})
	o := check(t, l.args("--output", "json", "-e", "nothing-like-this")...)
	var got struct {
		State    string `json:"state"`
		ExitCode int    `json:"exit_code"`
		Summary  string `json:"summary"`
		Findings []struct{ State, Text string }
		Perfdata []struct {
			Label string
			Value float64
			Unit  string
		}
	}
	if err := json.Unmarshal([]byte(o.Out), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, o.Out)
	}
	wantSummary := `banner: expected "nothing-like-this" not found in the greeting or EHLO reply: "220 mx.test ESMTP Service Ready"`
	if o.Code != 1 || got.State != "WARNING" || got.ExitCode != 1 || got.Summary != wantSummary || len(got.Findings) != 1 {
		t.Errorf("got exit %d and %+v", o.Code, got)
	}
	labels := []string{}
	for _, p := range got.Perfdata {
		labels = append(labels, p.Label+"/"+p.Unit)
	}
	if strings.Join(labels, " ") != "dns/s connect/s banner/s ehlo/s quit/s total/s time/s" {
		t.Errorf("perfdata labels %v", labels)
	}
}

func TestOutputCappedWithPerfdataIntact(t *testing.T) {
	// 100 EHLO lines of 3000 bytes and a '|' in the banner: the output must
	// stay under 8 KB, keep its perfdata, and carry no stray '|'.
	exts := make([]string, 100)
	for i := range exts {
		exts[i] = "X-LONG" + strconv.Itoa(i) + " " + strings.Repeat("v", 3000)
	}
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Send("220 evil.test ESMTP | 'injected'=1 \x1b[31mred")
		_ = c.EHLO(exts...)
		quitOK(c)
	})
	o := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2", "-v")
	if o.Code != 0 || len(o.Out) > 8192 {
		t.Fatalf("exit %d, %d bytes", o.Code, len(o.Out))
	}
	if n := strings.Count(o.Out, "|"); n != 1 {
		t.Errorf("want exactly one '|' (the perfdata separator), got %d", n)
	}
	if !strings.Contains(o.Out, "banner: \"220 evil.test ESMTP ¦ 'injected'=1 ?[31mred\"") {
		t.Errorf("banner not sanitised:\n%.600s", o.Out)
	}
	if !strings.HasSuffix(strings.TrimSpace(o.Out), "'total'="+strings.TrimSpace(strings.Split(strings.Split(o.Out, "'total'=")[1], " ")[0])) ||
		!strings.Contains(o.Out, "more lines cut to keep the output under 8192 bytes") {
		t.Errorf("perfdata or cut note missing at the end:\n...%s", o.Out[len(o.Out)-400:])
	}
}

func TestUsage(t *testing.T) {
	cases := []struct {
		args   []string
		code   int
		prefix string
	}{
		{[]string{"-h"}, 3, "Usage:\n  check_smtp_conn [OPTIONS]"},
		{[]string{"-V"}, 3, "check_smtp_conn dev\n"},
		{[]string{"--bogus"}, 3, "SMTP UNKNOWN - unknown flag `bogus' (see check_smtp_conn --help)"},
		{[]string{"-w", "-5:5"}, 3, "SMTP UNKNOWN - expected argument for flag `-w, --warning', but got option `-5:5' (a value starting with '-' needs '=', e.g. -w=-5:5) (see check_smtp_conn --help)"},
		{[]string{"-w", "abc"}, 3, "SMTP UNKNOWN - -w: want a Nagios range such as 5, 5:, ~:5, @1:2 (see check_smtp_conn --help)"},
		{[]string{"-p", "25 "}, 3, "SMTP UNKNOWN - -p: want a whole number, not \"25 \" (see check_smtp_conn --help)"},
		{[]string{"--insecure", "--verify"}, 3, "SMTP UNKNOWN - --insecure and --verify exclude each other: --insecure skips the verification that --verify judges (see check_smtp_conn --help)"},
		{[]string{"-s", "-S"}, 3, "SMTP UNKNOWN - -s (implicit TLS) and -S (STARTTLS) exclude each other (see check_smtp_conn --help)"},
		{[]string{"-A", "CRAM-MD5", "-U", "u", "-P", "p"}, 3, "SMTP UNKNOWN - -A CRAM-MD5: check_smtp_conn speaks LOGIN and PLAIN; check_smtp_auth has the other mechanisms (see check_smtp_conn --help)"},
		{[]string{"-H", "a", "b"}, 3, "SMTP UNKNOWN - unexpected argument \"b\" (see check_smtp_conn --help)"},
		{[]string{"-D", "x"}, 3, "SMTP UNKNOWN - -D \"x\": want WARN[,CRIT] whole days (see check_smtp_conn --help)"},
		{[]string{"--phase-warning", "bogus:1"}, 3, "SMTP UNKNOWN - --phase-warning bogus: unknown phase \"bogus\" (see check_smtp_conn --help)"},
		{[]string{"-t", "0"}, 3, "SMTP UNKNOWN - -t: want SECONDS or SECONDS:STATE, e.g. 10 or 10:UNKNOWN (0.1 to 3600 seconds) (see check_smtp_conn --help)"},
	}
	for _, tc := range cases {
		o := check(t, tc.args...)
		if o.Code != tc.code || !strings.HasPrefix(o.Out, tc.prefix) {
			t.Errorf("%v: exit %d, output\n%s\nwant exit %d and prefix\n%s", tc.args, o.Code, o.Out, tc.code, tc.prefix)
		}
	}
}

// TestCheckSMTPFlags feeds a check_smtp command line, legacy spellings and
// a positional host included, and an --extra-opts ini section.
func TestCheckSMTPFlags(t *testing.T) {
	l := newLab(t, smtptest.Config{}, smtptest.LeafOptions{})
	o := check(t, "-p", l.port, "-to", "5", "-wt", "4", "-ct", "5", "-F", "monitor.test", "-v", "127.0.0.1")
	o.Expect(t, 0, "SMTP OK - "+l.srv.Addr+" answered in T s")
	if !strings.Contains(o.Out, "C: EHLO monitor.test") {
		t.Errorf("HELO name not used:\n%s", o.Out)
	}

	ini := filepath.Join(t.TempDir(), "plugins.ini")
	content := "# monitoring-plugins style\n[other]\nport = 1\n[smtp_lab]\nhostname=127.0.0.1\nport = " + l.port + "\nstarttls\nexpect = \"ESMTP\"\n"
	if err := os.WriteFile(ini, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	o = check(t, "--extra-opts=smtp_lab@"+ini, "-t", "5")
	o.Expect(t, 0, "SMTP OK - "+l.srv.Addr+" answered in T s (STARTTLS TLSv1.3)")
	o = check(t, "--extra-opts=nosuch@"+ini)
	o.Expect(t, 3, "SMTP UNKNOWN - --extra-opts: section [nosuch] not found in "+ini+" (see check_smtp_conn --help)")
}
