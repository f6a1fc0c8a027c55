package probe

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// sendProxy writes a HAProxy PROXY protocol header carrying the real
// addresses of this connection (check_smtp sends a fixed 0.0.0.0 header).
func (s *Session) sendProxy(nc net.Conn) error {
	src := addrPort(nc.LocalAddr())
	dst := addrPort(nc.RemoteAddr())
	var hdr []byte
	switch s.Target.Proxy {
	case 1:
		hdr = ProxyV1(src, dst)
	case 2:
		hdr = ProxyV2(src, dst)
	default:
		return fmt.Errorf("unknown PROXY protocol version %d", s.Target.Proxy)
	}
	return s.conn.WriteRaw(hdr, fmt.Sprintf("PROXY v%d header %s -> %s", s.Target.Proxy, src, dst))
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	return netip.AddrPort{}
}

// ProxyV1 is the text header, e.g. "PROXY TCP4 127.0.0.1 127.0.0.1 40000 25\r\n".
func ProxyV1(src, dst netip.AddrPort) []byte {
	fam := "TCP4"
	if src.Addr().Unmap().Is6() {
		fam = "TCP6"
	}
	return fmt.Appendf(nil, "PROXY %s %s %s %d %d\r\n", fam,
		src.Addr().Unmap(), dst.Addr().Unmap(), src.Port(), dst.Port())
}

// proxyV2Sig is the fixed 12-byte signature of a v2 header.
var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// ProxyV2 is the binary header: PROXY command over TCP with both addresses.
func ProxyV2(src, dst netip.AddrPort) []byte {
	var b bytes.Buffer
	b.Write(proxyV2Sig)
	b.WriteByte(0x21) // version 2, command PROXY
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if s.Is4() {
		b.WriteByte(0x11) // AF_INET, STREAM
		b.Write(binary.BigEndian.AppendUint16(nil, 12))
		b.Write(s.AsSlice())
		b.Write(d.AsSlice())
	} else {
		b.WriteByte(0x21) // AF_INET6, STREAM
		b.Write(binary.BigEndian.AppendUint16(nil, 36))
		s16, d16 := s.As16(), d.As16()
		b.Write(s16[:])
		b.Write(d16[:])
	}
	b.Write(binary.BigEndian.AppendUint16(nil, src.Port()))
	b.Write(binary.BigEndian.AppendUint16(nil, dst.Port()))
	return b.Bytes()
}
