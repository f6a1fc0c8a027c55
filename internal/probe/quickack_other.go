//go:build !linux

package probe

import "net"

func quickAck(c net.Conn) net.Conn { return c }
