package authcheck

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/store"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// heardServer greets and offers STARTTLS, or with cfg nil no STARTTLS;
// after TLS with cfg it offers AUTH PLAIN LOGIN. It sends every line the
// client wrote after the last EHLO to the channel it returns, to prove
// what was sent (and that no AUTH was).
func heardServer(t *testing.T, cfg *tls.Config) (*smtptest.FaultServer, <-chan []string) {
	t.Helper()
	heard := make(chan []string, 1)
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		var lines []string
		defer func() { heard <- lines }()
		if c.Greet() != nil {
			return
		}
		if cfg != nil {
			if c.EHLO("STARTTLS") != nil {
				return
			}
			if _, err := c.Expect("STARTTLS"); err != nil || c.Send("220 2.0.0 go ahead") != nil || c.StartTLS(cfg) != nil {
				return
			}
		}
		if c.EHLO("AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES") != nil {
			return
		}
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			lines = append(lines, line)
			if strings.EqualFold(line, "QUIT") {
				_ = c.Send("221 2.0.0 bye")
				return
			}
			_ = c.Send("535 5.7.8 no") // an AUTH would be refused, and recorded
		}
	})
	return srv, heard
}

// leafFor is a certificate for 127.0.0.1 and localhost, signed by ca (nil:
// self-signed), valid from notBefore to notAfter (zero: the default).
func leafFor(t *testing.T, ca *smtptest.CA, notBefore, notAfter time.Time) *tls.Config {
	t.Helper()
	o := smtptest.LeafOptions{DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: notBefore, NotAfter: notAfter}
	var cert tls.Certificate
	if ca != nil {
		cert = ca.MustIssue(t, o)
	} else {
		var err error
		if cert, err = smtptest.SelfSigned(o); err != nil {
			t.Fatal(err)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// clockRe masks the time x509 names in an expiry error.
var clockRe = regexp.MustCompile(`current time [0-9T:.Z+-]+ is after [0-9T:.Z+-]+`)

// TestCredentialsWithheld: a server that cannot be talked to safely is the
// server's fault (CRITICAL), the credentials never leave (the server hears
// only QUIT), and the advice fits the cause; system roots this host cannot
// read are this host's fault (UNKNOWN).
func TestCredentialsWithheld(t *testing.T) {
	ca := smtptest.MustNewCA(t, "smtpcheck auth test CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	otherFile := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := ca.WriteCAFile(caFile); err != nil {
		t.Fatal(err)
	}
	if err := smtptest.MustNewCA(t, "another CA").WriteCAFile(otherFile); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	expired := leafFor(t, ca, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	selfSigned := leafFor(t, nil, time.Time{}, time.Time{})
	good := leafFor(t, ca, time.Time{}, time.Time{})
	const unknown = "does not verify (x509: certificate signed by unknown authority) - "
	cases := []struct {
		name   string
		cfg    *tls.Config
		env    string // $SSL_CERT_FILE, when set
		args   []string
		code   int
		status string
	}{
		{"expired: renew, not --ca-file", expired, "", []string{"--ca-file", caFile}, 2,
			"SMTP AUTH CRITICAL - credentials not sent: the certificate of {addr} does not verify (x509: certificate has expired or is not yet valid: current time NOW) - " +
				"the server's certificate (or one of its chain) is expired or not yet valid: renew it, or check this host's clock, or add --insecure to send them anyway"},
		{"self-signed: --ca-file", selfSigned, "", nil, 2,
			"SMTP AUTH CRITICAL - credentials not sent: the certificate of {addr} " + unknown +
				"it is self-signed: add --ca-file with the certificate itself, or add --insecure to send them anyway"},
		{"self-signed, --ca-file given: not signed by it", selfSigned, "", []string{"--ca-file", otherFile}, 2,
			"SMTP AUTH CRITICAL - credentials not sent: the certificate of {addr} " + unknown +
				"it is not signed by a CA in --ca-file " + otherFile + ": give the CA that signed it, or add --insecure to send them anyway"},
		{"wrong name: --verify-name", good, "", []string{"--ca-file", caFile, "--verify-name", "mx.other.test"}, 2,
			"SMTP AUTH CRITICAL - credentials not sent: the certificate of {addr} does not verify (x509: certificate is valid for localhost, not mx.other.test) - " +
				"give --verify-name with a name the certificate carries, or fix the certificate, or add --insecure to send them anyway"},
		{"no STARTTLS", nil, "", []string{"--ca-file", caFile}, 2,
			"SMTP AUTH CRITICAL - credentials not sent: {addr} does not offer STARTTLS - enable TLS on the server, use -s if the port speaks implicit TLS, or add --allow-plaintext to send them unencrypted"},
		{"system roots unreadable: this host's fault", good, os.DevNull, nil, 3,
			"SMTP AUTH UNKNOWN - tls: cannot read the system roots: $SSL_CERT_FILE /dev/null: a device, not a regular file; give the path of a regular file" +
				" - repair this host's CA store (ca-certificates, $SSL_CERT_FILE, $SSL_CERT_DIR) or give --ca-file; credentials not sent"},
	}
	pass := "file:" + secretFile(t, testPass)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("SSL_CERT_FILE", tc.env)
			}
			srv, heard := heardServer(t, tc.cfg)
			o := check(t, hostArgs(srv.Port, append([]string{"--user", testUser, "--password-ref", pass}, tc.args...)...)...)
			o.Out = clockRe.ReplaceAllString(o.Out, "current time NOW")
			o.Expect(t, tc.code, strings.ReplaceAll(tc.status, "{addr}", srv.Addr))
			select {
			case lines := <-heard:
				if got := strings.Join(lines, "|"); got != "QUIT" {
					t.Errorf("after EHLO the server heard %q, want only QUIT", got)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the server never finished")
			}
			if strings.Contains(o.Out, testPass) {
				t.Errorf("the password is in the output:\n%s", o.Out)
			}
		})
	}
}

// TestGatherJudge: Gather leaves every reply and timing as data, and Judge
// words those facts alone: judged twice, or after the server is gone, they
// give the same result.
func TestGatherJudge(t *testing.T) {
	p := newPKI(t)
	srv := smtptest.MustStart(t, smtptest.Config{TLS: p.cfg, Users: map[string]string{testUser: testPass}})
	o := &Options{Options: secret.Options{Store: store.Read}}
	args := hostArgs(srv.Port, "--ca-file", p.caFile, "--user", testUser, "--password-ref", "file:"+secretFile(t, "wrong"), "-m", "LOGIN")
	if _, _, err := plugin.Parse(t.Context(), Name, args, o); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
	f := Gather(t.Context(), o)
	srv.Close()
	if f.Err != nil || f.CredErr != nil || f.Refused != RefuseNone || !f.AuthRan || f.Mech != "LOGIN" ||
		strings.Join(f.Offered, " ") != "PLAIN LOGIN" || f.AuthReply.Code != 535 || f.AuthErr == nil || f.QuitReply.Code != 221 {
		t.Errorf("facts: err %v, cred %v, refused %d, ran %t, mech %s, offered %v, auth %q, auth err %v, quit %q",
			f.Err, f.CredErr, f.Refused, f.AuthRan, f.Mech, f.Offered, f.AuthReply, f.AuthErr, f.QuitReply)
	}
	if _, ok := f.S.Duration("auth"); !ok || f.Total <= 0 {
		t.Errorf("no auth time, or total %v", f.Total)
	}
	r1, r2 := o.Judge(f, time.Now()), o.Judge(f, time.Time{})
	want := `auth: LOGIN as mon@lab.test refused: "535 5.7.8 Authentication failed" (` + srv.Addr + `) - wrong user name or password`
	if r1.Summary() != want || r2.Summary() != want || strings.Join(r1.Details, "\n") != strings.Join(r2.Details, "\n") {
		t.Errorf("judged twice:\n%s\n%s\nwant %s", r1.Summary(), r2.Summary(), want)
	}
}
