package plugin

import (
	"context"
	"strings"
	"testing"
)

// serverOpts is the smallest plugin: the shared server flags and a -p.
type serverOpts struct {
	Common
	Server
	Port int `short:"p" long:"port"`
}

func (o *serverOpts) Validate(context.Context) error {
	return o.Server.Validate(&o.Common, &o.Port, 25, false)
}

// parseServer runs the real option parsing and validation, as Setup does.
func parseServer(t *testing.T, args ...string) (*serverOpts, error) {
	t.Helper()
	o := &serverOpts{}
	rest, _, err := Parse(context.Background(), "check_test", args, o)
	if err == nil {
		o.Args = rest
		err = validate(context.Background(), o)
	}
	return o, err
}

// TestServerValidate: -p 0 is not "the default port", and -H / -F are
// judged (and normalised) before anything is looked up or dialled.
func TestServerValidate(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 60) + ".example12" // 253 octets, the most DNS allows
	cases := []struct {
		args       []string
		host, fqdn string
		port       int
		err        string
	}{
		{args: nil, host: "localhost", port: 25},
		{args: []string{"-p", "0"}, err: "-p 0: want a port between 1 and 65535"},
		{args: []string{"--port=0"}, err: "-p 0: want a port between 1 and 65535"},
		{args: []string{"-p", "65536"}, err: "-p 65536: want a port between 1 and 65535"},
		{args: []string{"-p", "587", "mx.example"}, host: "mx.example", port: 587},
		{args: []string{"-H", "[::1]"}, host: "::1", port: 25},
		{args: []string{"-H", "[2001:db8::1]"}, host: "2001:db8::1", port: 25},
		{args: []string{"-H", "[192.0.2.1]"}, host: "192.0.2.1", port: 25},
		{args: []string{"-H", "fe80::1%lo"}, host: "fe80::1%lo", port: 25},
		{args: []string{"-H", "mx.example."}, host: "mx.example.", port: 25},
		{args: []string{"-H", "mail.bücher.example"}, host: "mail.xn--bcher-kva.example", port: 25},
		{args: []string{"-H", "MAIL.BÜCHER.example"}, host: "mail.xn--bcher-kva.example", port: 25},
		{args: []string{"-H", "internal_host.lan"}, host: "internal_host.lan", port: 25},
		{args: []string{"-H", long}, host: long, port: 25},
		{args: []string{"-H", "host:25"}, err: `-H "host:25": a host name carries no port: give it with -p`},
		{args: []string{"-H", "[::1]:25"}, err: `-H "[::1]:25": a host name carries no port: give it with -p`},
		{args: []string{"192.0.2.1:25"}, err: `-H "192.0.2.1:25": a host name carries no port: give it with -p`},
		{args: []string{"-H", "host\r\n"}, err: `-H "host\r\n": a host name cannot contain control characters ("\r")`},
		{args: []string{"-H", "host\x00x"}, err: `-H "host\x00x": a host name cannot contain control characters ("\x00")`},
		{args: []string{"-H", long + "x"}, err: `-H "` + long[:64] + `"...: longer than 253 characters, the limit of a DNS name`},
		{args: []string{"-H", strings.Repeat("x", 300)}, err: `-H "` + strings.Repeat("x", 64) + `"...: longer than 253 characters, the limit of a DNS name`},
		{args: []string{"-H", strings.Repeat("x", 64) + ".example"}, err: `-H "` + strings.Repeat("x", 64) + `"...: the label "` + strings.Repeat("x", 64) + `" is longer than 63 characters`},
		{args: []string{"-H", "mx..example"}, err: `-H "mx..example": empty label: a host name has no leading dot or two dots in a row`},
		{args: []string{"-H", ".example"}, err: `-H ".example": empty label: a host name has no leading dot or two dots in a row`},
		{args: []string{"-H", "."}, err: `-H ".": empty label: a host name has no leading dot or two dots in a row`},
		{args: []string{"-H", "mx.-bad.example"}, err: `-H "mx.-bad.example": the label "-bad" starts or ends with a hyphen`},
		{args: []string{"-H", "mx-.example"}, err: `-H "mx-.example": the label "mx-" starts or ends with a hyphen`},
		{args: []string{"--", "--bogus"}, err: `-H "--bogus": the label "--bogus" starts or ends with a hyphen`},
		{args: []string{"-H", "mx example"}, err: `-H "mx example": ' ' cannot be in a host name: use letters, digits, hyphens, underscores and dots`},
		{args: []string{"-H", "mx/example"}, err: `-H "mx/example": '/' cannot be in a host name: use letters, digits, hyphens, underscores and dots`},
		{args: []string{"-H", "user@mx.example"}, err: `-H "user@mx.example": '@' cannot be in a host name: use letters, digits, hyphens, underscores and dots`},
		{args: []string{"-H", "[mx.example]"}, err: `-H "[mx.example]": not an IP address (an IPv6 address may be in brackets: [2001:db8::1])`},
		{args: []string{"-H", "2001:db8::1::2"}, err: `-H "2001:db8::1::2": not an IP address (an IPv6 address may be in brackets: [2001:db8::1])`},
		{args: []string{"-H", "bü-.example"}, err: `-H "bü-.example": not a valid internationalised host name (invalid label "bü-")`},
		{args: []string{"-H", "mx", "-F", "monitor.bücher.example"}, host: "mx", fqdn: "monitor.xn--bcher-kva.example", port: 25},
		{args: []string{"-H", "mx", "-F", "[192.0.2.1]"}, host: "mx", fqdn: "[192.0.2.1]", port: 25},
		{args: []string{"-H", "mx", "-F", "[IPv6:2001:db8::1]"}, host: "mx", fqdn: "[IPv6:2001:db8::1]", port: 25},
		{args: []string{"-F", "[monitor]"}, err: `-F "[monitor]": not an address literal: want [192.0.2.1], [IPv6:2001:db8::1] or a host name`},
		// RFC 5321 §4.1.3: the IPv6: tag exactly for IPv6, never for IPv4.
		{args: []string{"-H", "mx", "-F", "[IPv6:::1]"}, host: "mx", fqdn: "[IPv6:::1]", port: 25},
		{args: []string{"-F", "[::1]"}, err: `-F "[::1]": not an address literal: want [192.0.2.1], [IPv6:2001:db8::1] or a host name`},
		{args: []string{"-F", "[IPv6:192.0.2.1]"}, err: `-F "[IPv6:192.0.2.1]": not an address literal: want [192.0.2.1], [IPv6:2001:db8::1] or a host name`},
		{args: []string{"-F", "[IPv6:fe80::1%eth0]"}, err: `-F "[IPv6:fe80::1%eth0]": not an address literal: want [192.0.2.1], [IPv6:2001:db8::1] or a host name`},
		// Quotes go on the wire as typed (go-flags would strip them).
		{args: []string{"-F", `"q"`}, err: `-F "\"q\"": '"' cannot be in a host name: use letters, digits, hyphens, underscores and dots`},
		// Broken UTF-8 would become some other name under IDNA.
		{args: []string{"-H", "m\xffx.example"}, err: `-H "m\xffx.example": not valid UTF-8`},
		{args: []string{"-F", "monitor\r\nRSET"}, err: `-F "monitor\r\nRSET": a host name cannot contain control characters ("\r")`},
		{args: []string{"-F", "monitor test"}, err: `-F "monitor test": ' ' cannot be in a host name: use letters, digits, hyphens, underscores and dots`},
	}
	for _, c := range cases {
		o, err := parseServer(t, c.args...)
		switch {
		case c.err != "":
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: got error %v, want\n  %s", c.args, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.args, err)
		case o.Host != c.host || o.FQDN != c.fqdn || o.Port != c.port:
			t.Errorf("%q: got host %q, -F %q, port %d; want %q, %q, %d", c.args, o.Host, o.FQDN, o.Port, c.host, c.fqdn, c.port)
		}
	}
}

func TestDomainNameAndWireText(t *testing.T) {
	cases := []struct {
		err  error
		want string
	}{
		{WireText("--rcpt", "a@example", "b@example\r\nDATA"), `--rcpt "b@example\r\nDATA": contains a control character ("\r"), which cannot be sent in an SMTP command`},
		{WireText("-C", "VRFY x\x00"), `-C "VRFY x\x00": contains a control character ("\x00"), which cannot be sent in an SMTP command`},
		{WireText("-C", "NOOP\x1b[2J"), `-C "NOOP\x1b[2J": contains a control character ("\x1b"), which cannot be sent in an SMTP command`},
		{WireText("-C", "VRFY postmaster", "EXPN ünïcode"), ""},
		{WireText("-f"), ""},
		{func() error { _, err := DomainName("--mx", "[::1]"); return err }(), `--mx "[::1]": want a domain name, not an IP address`},
		{func() error { _, err := DomainName("--mx", "example:25"); return err }(), `--mx "example:25": a host name carries no port`},
		{func() error { _, err := DomainName("--mx", ""); return err }(), ""},
	}
	for i, c := range cases {
		got := ""
		if c.err != nil {
			got = c.err.Error()
		}
		if got != c.want {
			t.Errorf("case %d: got\n  %s\nwant\n  %s", i, got, c.want)
		}
	}
	if d, err := DomainName("--mx", "Bücher.example."); d != "xn--bcher-kva.example." || err != nil {
		t.Errorf("DomainName: %q, %v", d, err)
	}
}
