package plugin

import "os"

// Server are the flags, spelled as check_smtp spells them, that name the
// server a plugin checks. Each plugin declares -p itself: its default port
// differs.
type Server struct {
	Host string `short:"H" long:"hostname" value-name:"HOST" description:"Host name or IP address to check (default: localhost)"`
	IPv4 bool   `short:"4" long:"use-ipv4" description:"Connect over IPv4 only"`
	IPv6 bool   `short:"6" long:"use-ipv6" description:"Connect over IPv6 only"`
	FQDN string `short:"F" long:"fqdn" value-name:"NAME" description:"Name sent with EHLO, HELO or LHLO (default: this host's name)"`
}

// Validate takes a positional host as check_smtp does, fills in the
// defaults (localhost; port 465 with implicit TLS, else plainPort) and checks
// -4/-6 and the port's range.
func (s *Server) Validate(c *Common, port *int, plainPort int, implicitTLS bool) error {
	if s.Host == "" && len(c.Args) > 0 {
		s.Host, c.Args = c.Args[0], c.Args[1:]
	}
	if s.Host == "" {
		s.Host = "localhost"
	}
	if s.IPv4 && s.IPv6 {
		return Usagef("-4 and -6 exclude each other")
	}
	if *port == 0 {
		*port = plainPort
		if implicitTLS {
			*port = 465
		}
	}
	if *port < 1 || *port > 65535 {
		return Usagef("-p %d: want a port between 1 and 65535", *port)
	}
	return nil
}

// Network is the address family -4/-6 allow: "ip", "ip4" or "ip6".
func (s *Server) Network() string {
	switch {
	case s.IPv4:
		return "ip4"
	case s.IPv6:
		return "ip6"
	}
	return "ip"
}

// HeloName is what check_smtp sends: -F, else this host's name.
func (s *Server) HeloName() string {
	if s.FQDN != "" {
		return s.FQDN
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}
