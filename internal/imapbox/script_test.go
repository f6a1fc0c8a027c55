package imapbox

import (
	"strings"
	"sync"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// scriptServer is smtptest's scripted fault server speaking IMAP, with
// the lines the client sent.
type scriptServer struct {
	*smtptest.FaultServer
	mu    sync.Mutex
	lines []string
}

// scriptConn reads lines for the script and records them.
type scriptConn struct {
	*smtptest.FaultConn
	s *scriptServer
}

func (c scriptConn) ReadLine() (string, error) {
	line, err := c.FaultConn.ReadLine()
	c.s.mu.Lock()
	c.s.lines = append(c.s.lines, line)
	c.s.mu.Unlock()
	return line, err
}

// Lines is what the client sent, one line each.
func (s *scriptServer) Lines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.lines, "\n")
}

func startScript(t *testing.T, script func(c scriptConn)) *scriptServer {
	t.Helper()
	s := &scriptServer{}
	s.FaultServer = smtptest.MustStartFault(t, func(c *smtptest.FaultConn) { script(scriptConn{c, s}) })
	return s
}
