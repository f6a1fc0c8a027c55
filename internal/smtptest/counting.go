package smtptest

import "sync/atomic"

// SkipTB is TB that can also skip a test.
type SkipTB interface {
	TB
	Skipf(format string, args ...any)
}

// StartCounting is StartFaultAddr that counts the connections script is run
// for. A network and address it cannot listen on (no IPv6 loopback, say)
// skip the test; the server is closed on cleanup.
func StartCounting(tb SkipTB, network, addr string, script func(c *FaultConn)) (*FaultServer, *atomic.Int32) {
	tb.Helper()
	var n atomic.Int32
	srv, err := StartFaultAddr(network, addr, func(c *FaultConn) {
		n.Add(1)
		script(c)
	})
	if err != nil {
		tb.Skipf("cannot listen on %s: %v", addr, err)
		return nil, &n
	}
	tb.Cleanup(func() { srv.Close() })
	return srv, &n
}
