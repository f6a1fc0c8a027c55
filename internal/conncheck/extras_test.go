package conncheck

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestProxyHeaders checks the exact PROXY v1 and v2 bytes the server sees.
func TestProxyHeaders(t *testing.T) {
	for _, v := range []string{"1", "2"} {
		t.Run("v"+v, func(t *testing.T) {
			got := make(chan []byte, 1)
			var client string
			srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
				client = c.RemoteAddr().String()
				if v == "1" {
					line, _ := c.ReadLine()
					got <- []byte(line + "\r\n")
				} else {
					b, _ := c.ReadFull(28) // 16-byte fixed part + 12 bytes of IPv4 addresses and ports
					got <- b
				}
				_ = c.Greet()
				_ = c.EHLO()
				quitOK(c)
			})
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-t", "2"}
			if v == "1" {
				args = append(args, "-r")
			} else {
				args = append(args, "--proxy-version", "2")
			}
			o := check(t, args...)
			o.Expect(t, 0, "SMTP OK - "+srv.Addr+" answered in T s")
			hdr := <-got
			src := netip.MustParseAddrPort(client)
			dst := netip.MustParseAddrPort(srv.Addr)
			want := probe.ProxyV1(src, dst)
			if v == "2" {
				want = append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x7f\x00\x00\x01\x7f\x00\x00\x01"),
					byte(src.Port()>>8), byte(src.Port()), byte(dst.Port()>>8), byte(dst.Port()))
			} else if string(want) != "PROXY TCP4 127.0.0.1 127.0.0.1 "+strconv.Itoa(int(src.Port()))+" "+strconv.Itoa(int(dst.Port()))+"\r\n" {
				t.Errorf("ProxyV1 = %q", want)
			}
			if !bytes.Equal(hdr, want) {
				t.Errorf("header\n got %q\nwant %q", hdr, want)
			}
		})
	}
}

func TestLMTP(t *testing.T) {
	srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		_ = c.Send("220 lmtp.test LMTP")
		if _, err := c.Expect("LHLO lmtp-client.test"); err == nil {
			_ = c.Send("250-lmtp.test", "250 PIPELINING")
		}
		quitOK(c)
	})
	o := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "-L", "-F", "lmtp-client.test", "-t", "2")
	o.Expect(t, 0, "SMTP OK - "+srv.Addr+" answered in T s")
	if !strings.Contains(o.Out, "lhlo: \"250 lmtp.test\"; extensions: PIPELINING") {
		t.Errorf("LHLO not reported:\n%s", o.Out)
	}
}

func TestAllMX(t *testing.T) {
	l := newLab(t, smtptest.Config{}, smtptest.LeafOptions{})
	dnsAddr := dnstest.Start(t, false,
		"example.test. 60 IN MX 10 mx1.example.test.",
		"example.test. 60 IN MX 20 mx2.example.test.",
		"mx1.example.test. 60 IN A 127.0.0.1",
		"mx2.example.test. 60 IN A 127.0.0.2",
		"mx2.example.test. 60 IN AAAA ::1",
		"nullmx.test. 60 IN MX 0 .",
		"nomx.test. 60 IN A 127.0.0.1",
	)
	p := l.port
	o := check(t, "--mx", "example.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-4")
	o.Expect(t, 2, "SMTP CRITICAL - 1 of 2 MX addresses of example.test failed; mx2.example.test: connect: connection refused (mx2.example.test (127.0.0.2:"+p+")) - is the MTA running and listening on this address and port?")
	for _, want := range []string{
		"[OK] MX 10 mx1.example.test (127.0.0.1:" + p + "): mx1.example.test (127.0.0.1:" + p + ") answered in",
		"[CRITICAL] MX 20 mx2.example.test (127.0.0.2:" + p + "): connect: connection refused",
		"'mx_ok'=1;;;0;2",
		"'total_127.0.0.1'=",
	} {
		if !strings.Contains(o.Out, want) {
			t.Errorf("missing %q in:\n%s", want, o.Out)
		}
	}

	o = check(t, "--mx", "example.test", "--dns-server", dnsAddr, "-p", p, "-t", "3", "-6")
	o.Expect(t, 2, "SMTP CRITICAL - 2 of 2 MX addresses of example.test failed; mx1.example.test: dns: no IPv6 address for mx1.example.test: no AAAA records (NODATA) (asked "+dnsAddr+"); mx2.example.test: connect: connection refused (mx2.example.test ([::1]:"+p+")) - is the MTA running and listening on this address and port?")

	// No MX records (NODATA): the domain's own address, and the output says so.
	o = check(t, "--mx", "nomx.test", "--dns-server", dnsAddr, "-p", p, "-t", "3")
	o.Expect(t, 0, "SMTP OK - all 1 MX addresses of nomx.test (no MX records: implicit MX, its own address) answered in T s")
	o.Contains(t, "[OK] implicit MX (RFC 5321 §5.1) nomx.test (127.0.0.1:"+p+"): nomx.test (127.0.0.1:"+p+") answered in")

	o = check(t, "--mx", "nullmx.test", "--dns-server", dnsAddr, "-p", p, "-t", "3")
	o.Expect(t, 2, "SMTP CRITICAL - dns: nullmx.test publishes a null MX (RFC 7505): it accepts no mail")

	// A domain that does not exist (NXDOMAIN) has no implicit MX.
	o = check(t, "--mx", "missing.test", "--dns-server", dnsAddr, "-p", p, "-t", "3")
	o.Expect(t, 2, "SMTP CRITICAL - dns: missing.test does not exist (NXDOMAIN, asked "+dnsAddr+") - check the domain given to --mx")
}
