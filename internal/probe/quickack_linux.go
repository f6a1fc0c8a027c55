package probe

import (
	"net"
	"syscall"
)

// quickAckConn acknowledges every segment at once. Servers with Nagle on
// (Postfix sends its TLS 1.3 session ticket and then its EHLO reply as two
// writes) otherwise hold the second write until our delayed ACK, 40 ms
// later. Linux drops quick-ack mode by itself, so it is set before each read.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{tc, raw}
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(b)
}
