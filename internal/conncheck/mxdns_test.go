package conncheck

import (
	"net"
	"sync/atomic"
	"testing"
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
