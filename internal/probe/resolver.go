package probe

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
)

// DNSServerAddr reads --dns-server: an IP address with an optional port, 53
// by default.
func DNSServerAddr(s string) (string, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String(), nil
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return "", errors.New("want an IP address with an optional port")
	}
	return netip.AddrPortFrom(a, 53).String(), nil
}

// NewResolver asks only server (an address from DNSServerAddr), through Go's
// own resolver, so that no query goes anywhere else.
func NewResolver(server string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}
