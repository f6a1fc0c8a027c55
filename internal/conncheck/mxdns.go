package conncheck

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
)

// Go's resolver reports a domain that does not exist (NXDOMAIN) and one
// without records of the type asked (NODATA) alike, as IsNotFound. RFC
// 5321 §5.1 needs the difference: no MX records make the domain's own
// address its MX; no domain means no mail at all, even where /etc/hosts
// knows the name. So the MX query goes through the same resolver (its
// servers, retries and deadline), over connections that note the RCODE of
// each answer they read.

// rcodeNXDomain is RCODE 3, "Name Error" (RFC 1035 §4.1.1).
const rcodeNXDomain = hostdns.RcodeNXDomain

// lookupMX asks res for the MX records of domain (as an absolute name: no
// search list) and returns the RCODE of the last answer read, -1 if none.
func lookupMX(ctx context.Context, res *net.Resolver, domain string) ([]*net.MX, int, error) {
	var rcode atomic.Int32
	rcode.Store(-1)
	dial := res.Dial
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	noting := &net.Resolver{PreferGo: true, StrictErrors: res.StrictErrors, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if pc, ok := c.(net.PacketConn); ok { // the resolver frames by this
			return &rcodePacketConn{Conn: c, pc: pc, rcode: &rcode}, nil
		}
		return &rcodeStreamConn{Conn: c, rcode: &rcode}, nil
	}}
	mxs, err := noting.LookupMX(ctx, domain+".")
	return mxs, int(rcode.Load()), err
}

// noteRcode records the RCODE of hdr, the start of a DNS message, when it
// is an answer.
func noteRcode(rcode *atomic.Int32, hdr []byte) {
	if len(hdr) >= 4 && hdr[2]&0x80 != 0 { // QR: a response
		rcode.Store(int32(hdr[3] & 0x0f))
	}
}

// rcodePacketConn is a datagram connection: each read is one message.
type rcodePacketConn struct {
	net.Conn
	pc    net.PacketConn
	rcode *atomic.Int32
}

func (c *rcodePacketConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	noteRcode(c.rcode, b[:n])
	return n, err
}

func (c *rcodePacketConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.pc.ReadFrom(b)
	noteRcode(c.rcode, b[:n])
	return n, addr, err
}

func (c *rcodePacketConn) WriteTo(b []byte, addr net.Addr) (int, error) { return c.pc.WriteTo(b, addr) }

// rcodeStreamConn is a TCP connection carrying one answer, after its
// two-byte length (RFC 1035 §4.2.2).
type rcodeStreamConn struct {
	net.Conn
	head  []byte // the stream's first bytes, up to the RCODE
	rcode *atomic.Int32
}

func (c *rcodeStreamConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if want := 6 - len(c.head); want > 0 {
		c.head = append(c.head, b[:min(n, want)]...)
		if len(c.head) == 6 {
			noteRcode(c.rcode, c.head[2:])
		}
	}
	return n, err
}

func isNotFound(err error) bool { return hostdns.IsNotFound(err) }
