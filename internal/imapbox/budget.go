package imapbox

import (
	"bytes"
	"errors"
	"net"
	"sync/atomic"
)

// MaxStepRead bounds what the server may send during one step of ours (the
// greeting, the login, a SELECT, one search round, a FETCH, a cleanup):
// we ask for header sections of at most MaxHeader bytes, short UID lists
// and the folder list. More is a flood, or a literal far larger than asked,
// and go-imap holds a FETCH literal whole in memory: a hostile server's
// 1 GiB literal would be 1 GiB of ours.
const MaxStepRead = 2 << 20

// floodLines is how many lines in one step make a timeout a flood's: a
// step of ours gets a few dozen at most.
const floodLines = 1000

// errOverflow ends the session once the server has sent MaxStepRead bytes
// in one step; go-imap reports it as a read error, and Box.fail words it.
var errOverflow = errors.New("read budget of the step spent")

// meter counts what the server sends in the current step: the bytes from
// the socket (TLS records, which bound the plaintext) and the lines of
// the plaintext stream (go-imap's debug stream; our own few commands
// count too).
type meter struct {
	limit int64
	read  atomic.Int64
	lines atomic.Int64
	over  atomic.Bool // the budget was spent: the session is ended
}

// step starts a new step's budget.
func (m *meter) step() {
	m.read.Store(0)
	m.lines.Store(0)
}

// countLines is a debug stream writer: it counts the lines.
func (m *meter) countLines(p []byte) { m.lines.Add(int64(bytes.Count(p, []byte{'\n'}))) }

// meteredConn is the socket, read within the step's budget.
type meteredConn struct {
	net.Conn
	m *meter
}

func (c *meteredConn) Read(p []byte) (int, error) {
	room := c.m.limit - c.m.read.Load()
	if room <= 0 {
		c.m.over.Store(true)
		return 0, errOverflow
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.Conn.Read(p)
	c.m.read.Add(int64(n))
	return n, err
}
