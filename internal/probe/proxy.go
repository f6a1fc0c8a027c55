package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/smtpcheck/smtpcheck/internal/smtp"
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

// ProxyAnsweredError is a server that answered the PROXY header: it read
// the header as a command line, so it does not expect the PROXY protocol
// from this client, and every later reply would be read one command late.
type ProxyAnsweredError struct {
	Reply smtp.Reply // its answer (Exim: "500 unrecognized command")
}

func (e *ProxyAnsweredError) Error() string {
	return fmt.Sprintf("the server answered the PROXY header with %q, as a command", e.Reply.String())
}

// proxyAnswered is the error of a session whose server answered the PROXY
// header with rep.
func proxyAnswered(rep smtp.Reply) *Error {
	return &Error{Phase: PhaseProxy, Kind: KindProtocol, Reply: &rep, Err: &ProxyAnsweredError{Reply: rep}}
}

// proxySuspect: with a PROXY header sent, the first reply after the
// greeting was a refusal, taken for EHLO's. It may have been the answer to
// the header instead (Exim on a port without hosts_proxy), and then every
// later reply is one command late: QUIT's reply tells (see Run).
func (s *Session) proxySuspect() bool { return s.Target.Proxy != 0 && s.firstRefusal() != nil }

// firstRefusal is the refusal read as EHLO's reply (before a HELO), nil
// when EHLO was not refused.
func (s *Session) firstRefusal() *smtp.Reply {
	switch {
	case s.EHLOErr != nil:
		return s.EHLOErr
	case s.HelloVerb != "HELO" && s.Hello.Class() == 5:
		return &s.Hello
	}
	return nil
}

// checkProxy turns the signs of replies one command late in a proxySuspect
// session into the verdict that the server answered the PROXY header: more
// bytes than a reply asked for anywhere, or QUIT answered with anything
// but 221 (the reply to the command before it). A server that knows the
// PROXY protocol and refuses EHLO answers HELO and QUIT in step.
func (out *Outcome) checkProxy() {
	if !out.S.proxySuspect() {
		return
	}
	late := out.Err != nil && unsolicited(out.Err)
	if out.Err == nil && out.QuitErr != nil {
		late = unsolicited(out.QuitErr) || (out.QuitReply.Code != 0 && out.QuitReply.Code != 221)
	}
	if late {
		out.Err, out.QuitErr = proxyAnswered(*out.S.firstRefusal()), nil
	}
}

func unsolicited(e *Error) bool { return errors.As(e, new(*smtp.UnsolicitedError)) }
