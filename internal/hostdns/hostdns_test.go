package hostdns

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestHostLookupOverTCP: an address answer truncated over UDP is asked
// again over TCP (RFC 1035 §4.2.2 framing), and only an answer to the
// question asked counts.
func TestHostLookupOverTCP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ln, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		t.Skip("the UDP port is taken for TCP:", err)
	}
	defer ln.Close()
	reply := func(q []byte, truncated bool) []byte {
		var m dnsmessage.Message
		if err := m.Unpack(q); err != nil {
			return nil
		}
		m.Response, m.Truncated = true, truncated
		if !truncated {
			m.Answers = []dnsmessage.Resource{{
				Header: dnsmessage.ResourceHeader{Name: m.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
				Body:   &dnsmessage.AResource{A: [4]byte{127, 0, 0, 9}},
			}}
		}
		b, _ := m.Pack()
		return b
	}
	go func() {
		b := make([]byte, 512)
		n, from, err := pc.ReadFrom(b)
		if err == nil {
			_, _ = pc.WriteTo([]byte("not an answer"), from)
			_, _ = pc.WriteTo(reply(b[:n], true), from)
		}
	}()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 512)
		if n, err := ReadMessage(c, b, true); err == nil {
			r := reply(b[:n], false)
			_, _ = c.Write(append([]byte{byte(len(r) >> 8), byte(len(r))}, r...))
		}
	}()
	h := &Resolver{Servers: []string{pc.LocalAddr().String()}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := h.LookupNetIP(ctx, "ip4", "mx.tcp.test")
	if err != nil || len(addrs) != 1 || addrs[0] != netip.MustParseAddr("127.0.0.9") {
		t.Errorf("got %v, %v; want 127.0.0.9", addrs, err)
	}
}

// TestSystemNameservers: without --dns-server the nameservers of
// resolv.conf are asked on port 53; with none, the local host's, as the C
// library does.
func TestSystemNameservers(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("search lab.test\nnameserver 127.0.0.53\n# nameserver 10.0.0.1\nnameserver ::1\noptions timeout:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := ResolvConf
	defer func() { ResolvConf = old }()
	ResolvConf = conf
	if got := SystemNameservers(context.Background()); !slices.Equal(got, []string{"127.0.0.53:53", "[::1]:53"}) {
		t.Errorf("from resolv.conf: %q", got)
	}
	ResolvConf = filepath.Join(t.TempDir(), "missing")
	if got := SystemNameservers(context.Background()); !slices.Equal(got, []string{"127.0.0.1:53", "[::1]:53"}) {
		t.Errorf("without resolv.conf: %q", got)
	}
}

// TestFailureWording: each answer code is named, with what it means and
// what to do; Go's resolver's own words get the closest advice.
func TestFailureWording(t *testing.T) {
	cases := []struct {
		err          error
		text, advice string
	}{
		{Failure("a.test", "127.0.0.1:53", RcodeServFail), "lookup a.test on 127.0.0.1:53: SERVFAIL: the resolver could not get an answer",
			"the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator"},
		{Failure("a.test", "127.0.0.1:53", RcodeRefused), "lookup a.test on 127.0.0.1:53: REFUSED: the server will not answer this query",
			"it is no recursive resolver for this client (an authoritative-only server, or its access rules): point --dns-server at a resolver that serves this client"},
		{Failure("a.test", "127.0.0.1:53", RcodeNXDomain), "lookup a.test on 127.0.0.1:53: NXDOMAIN: the name does not exist",
			"check the name: the DNS says there is no such name"},
		{Failure("a.test", "127.0.0.1:53", 9), "lookup a.test on 127.0.0.1:53: rcode 9", "check the name and the resolver"},
		{&net.DNSError{Err: "server misbehaving", Name: "a.test", IsTemporary: true}, "lookup a.test: server misbehaving",
			"the resolver answered SERVFAIL: the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator"},
		{&net.DNSError{Err: "server misbehaving", Name: "a.test"}, "lookup a.test: server misbehaving",
			"the resolver answered with a failure code (REFUSED or another): give --dns-server to have the code named, and check that this host may use the resolver"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.text {
			t.Errorf("text %q, want %q", got, tc.text)
		}
		if got := Advice(tc.err); got != tc.advice {
			t.Errorf("%s: advice %q, want %q", tc.text, got, tc.advice)
		}
	}
	if de := Failure("a.test", "", RcodeNXDomain); !de.IsNotFound || de.IsTemporary {
		t.Errorf("NXDOMAIN: %+v, want IsNotFound", de)
	}
	if de := Failure("a.test", "", RcodeServFail); de.IsNotFound || !de.IsTemporary {
		t.Errorf("SERVFAIL: %+v, want IsTemporary", de)
	}
}

// TestLookupRefusedPort: a server address where nothing listens is named
// so, with what to check, rather than as a socket error.
func TestLookupRefusedPort(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = (&Resolver{Servers: []string{addr}}).LookupNetIP(ctx, "ip4", "a.test")
	want := "lookup a.test on " + addr + ": connection refused: no DNS server listens there"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %s", err, want)
	}
	if got := Advice(err); got != "check the DNS server's address and port (--dns-server, or the nameserver lines of /etc/resolv.conf)" {
		t.Errorf("advice %q", got)
	}
}
