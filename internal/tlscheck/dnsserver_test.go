package tlscheck

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestDNSServerSkipsHostsFile: with --dns-server every lookup of the check
// asks that server alone: -H and the MTA-STS policy host are not answered
// from /etc/hosts (which knows localhost).
func TestDNSServerSkipsHostsFile(t *testing.T) {
	root := smtptest.MustNewCA(t, "Test Root")
	l := serve(t, root, root.MustIssue(t, smtptest.LeafOptions{DNSNames: []string{"mx.example.test", "localhost"}, NotAfter: leafNotAfter}), smtptest.Config{}, nil)
	dnsAddr := dnstest.Start(t, false, `_mta-sts.example.test. 60 IN TXT "v=STSv1; id=1"`, "mx.example.test. 60 IN A 127.0.0.1")
	nx := "NXDOMAIN: the name does not exist"

	o := check(t, "-H", "localhost", "-p", l.port, "-t", "5", "-4", "--ca-file", l.caFile, "--dns-server", dnsAddr)
	o.Expect(t, 2, "SMTP TLS CRITICAL - dns: lookup localhost on "+dnsAddr+": "+nx+" (localhost:"+l.port+") - check the name: the DNS says there is no such name")

	o = check(t, "-H", "mx.example.test", "-p", l.port, "-t", "5", "-4", "--ca-file", l.caFile,
		"--dns-server", dnsAddr, "--mta-sts", "example.test", "--mta-sts-url-base", "https://localhost:1")
	o.Expect(t, 2, "SMTP TLS CRITICAL - mta-sts: cannot get the policy https://localhost:1/.well-known/mta-sts.txt: "+
		"localhost: "+nx+" (asked "+dnsAddr+"): publish its address, or check the name")
}
