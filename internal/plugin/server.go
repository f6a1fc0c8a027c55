package plugin

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// Server are the flags, spelled as check_smtp spells them, that name the
// server a plugin checks. Each plugin declares -p itself: its default port
// differs.
type Server struct {
	Host string `short:"H" long:"hostname" value-name:"HOST" description:"Host name or IP address to check (default: localhost)"`
	IPv4 bool   `short:"4" long:"use-ipv4" description:"Connect over IPv4 only"`
	IPv6 bool   `short:"6" long:"use-ipv6" description:"Connect over IPv6 only"`
	FQDN string `unquote:"false" short:"F" long:"fqdn" value-name:"NAME" description:"Name sent with EHLO, HELO or LHLO (default: this host's name)"`
}

// Validate takes a positional host as check_smtp does, fills in the
// defaults (localhost; port 465 with implicit TLS, else plainPort) and checks
// -4/-6, the port's range, -H and -F, so that a bad value is a usage error
// before anything is looked up or dialled. -H becomes what is dialled: an
// IPv6 literal without brackets, an internationalised name as its A-label.
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
	if *port == 0 && !c.Given("port") { // 0 is "not given" only when -p was not
		*port = plainPort
		if implicitTLS {
			*port = 465
		}
	}
	if *port < 1 || *port > 65535 {
		return Usagef("-p %d: want a port between 1 and 65535", *port)
	}
	var err error
	if s.Host, err = HostName("-H", s.Host); err != nil {
		return err
	}
	if a, err := netip.ParseAddr(s.Host); err == nil && (s.IPv4 && !a.Unmap().Is4() || s.IPv6 && !a.Unmap().Is6()) {
		return Usagef("-H %s is not an %s address: drop %s or give the other address", s.Host, probe.FamilyName(s.Network()), map[bool]string{true: "-4", false: "-6"}[s.IPv4])
	}
	if s.FQDN, err = heloName(s.FQDN); err != nil {
		return err
	}
	return nil
}

// heloName checks -F: an address literal in brackets goes out as given,
// anything else must be a host name. RFC 5321 §4.1.3: an IPv6 literal
// carries the tag "IPv6:" ([IPv6:2001:db8::1]), an IPv4 one none ([192.0.2.1]).
func heloName(s string) (string, error) {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		lit, v6 := strings.CutPrefix(s[1:len(s)-1], "IPv6:")
		if a, err := netip.ParseAddr(lit); err != nil || a.Is6() != v6 || a.Zone() != "" {
			return "", Usagef("-F %s: not an address literal: want [192.0.2.1], [IPv6:2001:db8::1] or a host name", shown(s))
		}
		return s, nil
	}
	return HostName("-F", s)
}

// HostName checks a host name or IP address given with flag and returns the
// form to look up, dial, send as SNI and verify: an IP literal as given
// (brackets of an IPv6 literal stripped), a name in ASCII, an
// internationalised one converted to its A-label (punycode), as DNS and
// certificates know it. What cannot be a host name is a usage error that
// names the flag and the reason; "" (not given) stays "".
func HostName(flag, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	bad := func(why string, args ...any) error {
		return Usagef("%s %s: %s", flag, shown(s), fmt.Sprintf(why, args...))
	}
	if i := strings.IndexFunc(s, isControl); i >= 0 {
		return "", bad("a host name cannot contain control characters (%q)", s[i:i+1])
	}
	if !utf8.ValidString(s) { // IDNA would turn the broken bytes into some other name
		return "", bad("not valid UTF-8")
	}
	lit := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		lit = s[1 : len(s)-1] // [::1], as in URLs and mail addresses
	}
	if _, err := netip.ParseAddr(lit); err == nil {
		return lit, nil
	}
	if h, p, err := net.SplitHostPort(s); err == nil && h != "" && p != "" {
		if flag == "-H" {
			return "", bad("a host name carries no port: give it with -p")
		}
		return "", bad("a host name carries no port")
	}
	if strings.ContainsAny(s, "[]:") {
		return "", bad("not an IP address (an IPv6 address may be in brackets: [2001:db8::1])")
	}
	name := s
	if !isASCII(name) {
		var err error
		if name, err = idna.Lookup.ToASCII(s); err != nil {
			return "", bad("not a valid internationalised host name (%s)", strings.TrimPrefix(err.Error(), "idna: "))
		}
	}
	if len(strings.TrimSuffix(name, ".")) > 253 {
		return "", bad("longer than 253 characters, the limit of a DNS name")
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		switch {
		case label == "":
			return "", bad("empty label: a host name has no leading dot or two dots in a row")
		case len(label) > 63:
			return "", bad("the label %s is longer than 63 characters", shown(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			// RFC 1123 §2.1; and "-- --bogus" would be looked up.
			return "", bad("the label %s starts or ends with a hyphen", shown(label))
		}
		if i := strings.IndexFunc(label, notHostChar); i >= 0 {
			r, _ := utf8.DecodeRuneInString(label[i:])
			return "", bad("%q cannot be in a host name: use letters, digits, hyphens, underscores and dots", r)
		}
	}
	return name, nil
}

// DomainName is HostName for an option that names a DNS domain (--mx,
// --mta-sts): an IP address is refused.
func DomainName(flag, s string) (string, error) {
	name, err := HostName(flag, s)
	if _, notIP := netip.ParseAddr(name); err == nil && name != "" && notIP == nil {
		return "", Usagef("%s %s: want a domain name, not an IP address", flag, shown(s))
	}
	return name, err
}

// DNSServer checks --dns-server and returns it with its port ("" when not
// given), the one spelling every plugin's DNS lookups then use.
func DNSServer(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	addr, err := probe.DNSServerAddr(s)
	if err != nil {
		return "", Usagef("--dns-server %q: %v", s, err)
	}
	return addr, nil
}

// MailDomain checks a mail domain flag (--domain, --mta-sts) and returns
// it lower-case without a trailing dot: a domain name with at least one dot.
func MailDomain(flag, s string) (string, error) {
	d, err := DomainName(flag, strings.TrimSuffix(s, "."))
	if err != nil {
		return "", err
	}
	if d = strings.ToLower(strings.TrimSuffix(d, ".")); !strings.Contains(d, ".") {
		return "", Usagef("%s %s: want a mail domain such as example.org", flag, shown(s))
	}
	return d, nil
}

// MTASTSURLBase checks --mta-sts-url-base: an https URL, only with the flag
// that names the domain (domainFlag), which must be given (domain != "").
func MTASTSURLBase(base, domainFlag, domain string) error {
	if base == "" {
		return nil
	}
	if u, err := url.Parse(base); err != nil || u.Scheme != "https" || u.Host == "" {
		return Usagef("--mta-sts-url-base %s: want https://HOST[:PORT]", shown(base))
	}
	if domain == "" {
		return Usagef("--mta-sts-url-base needs %s DOMAIN", domainFlag)
	}
	return nil
}

// WireText refuses control characters in the values of flag that go into
// an SMTP command line: CR or LF would end the line early and smuggle in
// another command; a server would reject the rest (NUL, escapes) or misread it.
func WireText(flag string, vals ...string) error {
	for _, s := range vals {
		if i := strings.IndexFunc(s, isControl); i >= 0 {
			return Usagef("%s %s: contains a control character (%q), which cannot be sent in an SMTP command", flag, shown(s), s[i:i+1])
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })
}

// notHostChar allows letters, digits, hyphens and, as resolvers do, the
// underscore that some internal names carry.
func notHostChar(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_')
}

// shown quotes a value for a message, escaped (no raw CR or LF reaches the
// output) and cut short so that a status line stays readable.
func shown(s string) string {
	const max = 64
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q...", s[:cut])
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
