package conncheck

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestRcodeOverTCP: an answer over TCP (after a truncated one over UDP)
// has its RCODE after the two-byte length, however the reads split it.
func TestRcodeOverTCP(t *testing.T) {
	// length 12, ID 0x1234, QR set, RCODE 3 (NXDOMAIN), no records
	msg := []byte{0, 12, 0x12, 0x34, 0x81, 0x83, 0, 0, 0, 0, 0, 0, 0, 0}
	for _, split := range []int{1, 2, 5, len(msg)} {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			_, _ = server.Write(msg[:split])
			_, _ = server.Write(msg[split:])
		}()
		var rcode atomic.Int32
		rcode.Store(-1)
		c := &rcodeStreamConn{Conn: client, rcode: &rcode}
		b := make([]byte, 3) // reads shorter than the header
		for {
			if _, err := c.Read(b); err != nil {
				break
			}
		}
		client.Close()
		if got := rcode.Load(); got != rcodeNXDomain {
			t.Errorf("split after %d bytes: rcode %d, want %d", split, got, rcodeNXDomain)
		}
	}
}

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
		if n, err := readMessage(c, b, true); err == nil {
			r := reply(b[:n], false)
			_, _ = c.Write(append([]byte{byte(len(r) >> 8), byte(len(r))}, r...))
		}
	}()
	h := &hostResolver{servers: []string{pc.LocalAddr().String()}, dial: new(net.Dialer).DialContext}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := h.lookup(ctx, "ip4", "mx.tcp.test")
	if err != nil || len(addrs) != 1 || addrs[0] != netip.MustParseAddr("127.0.0.9") {
		t.Errorf("got %v, %v; want 127.0.0.9", addrs, err)
	}
}
