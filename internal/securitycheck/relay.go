package securitycheck

import (
	"context"
	"net/netip"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
)

// variant is one way of asking a server to relay, as nmap's
// smtp-open-relay tries them: who the mail is from, and an outside
// recipient written so that a sloppy server takes it for a local one.
type variant struct {
	key  string // names it in the evidence
	from func(a relayAddrs) string
	rcpt func(a relayAddrs) string
}

// relayAddrs are the addresses the variants are built from: the outside
// sender and recipient (user@ext), a domain of the server and its address.
type relayAddrs struct {
	from, user, ext, local, ip string
}

// relayChunks are the variants, split over sessions of a few rejections
// each: Postfix slows a client down after smtpd_soft_error_limit (10)
// errors and drops it after smtpd_hard_error_limit (20).
var relayChunks = [][]variant{
	{
		{"plain", fromOutside, func(a relayAddrs) string { return a.user + "@" + a.ext }},
		{"null sender", func(relayAddrs) string { return "" }, func(a relayAddrs) string { return a.user + "@" + a.ext }},
		{"local sender", func(a relayAddrs) string { return localPart(a.from) + "@" + a.local }, func(a relayAddrs) string { return a.user + "@" + a.ext }},
		{"%-hack", fromOutside, func(a relayAddrs) string { return a.user + "%" + a.ext + "@" + a.local }},
	},
	{
		{"%-hack to the address", fromOutside, func(a relayAddrs) string { return a.user + "%" + a.ext + "@" + a.ip }},
		{"quoted local part", fromOutside, func(a relayAddrs) string { return `"` + a.user + "@" + a.ext + `"` }},
		{"quoted local part at a local domain", fromOutside, func(a relayAddrs) string { return `"` + a.user + "@" + a.ext + `"@` + a.local }},
		{"double @", fromOutside, func(a relayAddrs) string { return a.user + "@" + a.ext + "@" + a.local }},
	},
	{
		{"bang path", fromOutside, func(a relayAddrs) string { return a.ext + "!" + a.user }},
		{"bang path at a local domain", fromOutside, func(a relayAddrs) string { return a.ext + "!" + a.user + "@" + a.local }},
		{"source route", fromOutside, func(a relayAddrs) string { return "@" + a.local + ":" + a.user + "@" + a.ext }},
		{"source route via the address", fromOutside, func(a relayAddrs) string { return "@" + a.ip + ":" + a.user + "@" + a.ext }},
	},
}

func fromOutside(a relayAddrs) string { return a.from }

func localPart(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr
	}
	return addr[:i]
}

// addrs builds the variants' addresses for session s.
func (o *Options) addrs(s *probe.Session) relayAddrs {
	user, ext, _ := strings.Cut(o.RelayTo, "@")
	ip := "[" + s.Addr.Addr().String() + "]"
	if s.Addr.Addr().Is6() {
		ip = "[IPv6:" + s.Addr.Addr().String() + "]"
	}
	return relayAddrs{from: o.RelayFrom, user: user, ext: ext, local: o.localDomain(s), ip: ip}
}

// localDomain is a domain the server takes mail for: --local-domain, else
// the name it gives in its EHLO reply or its greeting (a name with a dot:
// go-smtp answers EHLO with "Hello <client>"), else -H, else its address.
func (o *Options) localDomain(s *probe.Session) string {
	if o.LocalDomain != "" {
		return o.LocalDomain
	}
	greeting := ""
	if len(s.Banner.Lines) > 0 {
		greeting, _, _ = strings.Cut(s.Banner.Lines[0], " ")
	}
	for _, name := range []string{s.Domain, greeting} {
		name = strings.TrimSuffix(name, ".")
		if _, err := plugin.DomainName("", name); err == nil && strings.Contains(name, ".") {
			return name
		}
	}
	if _, err := netip.ParseAddr(o.Host); err != nil {
		return o.Host
	}
	return "[" + s.Addr.Addr().String() + "]"
}

// relayAttempts tries each variant of chunk as MAIL + RCPT + RSET, never
// DATA; with control, first a random recipient of the local domain, which
// tells a server that takes every recipient (a catch-all, or
// accept-then-bounce) from an open relay, and then (rcpt_enum) the known
// name, in the same transaction.
func (o *Options) relayAttempts(ctx context.Context, st *stepper, chunk []variant, control bool, random string) error {
	a := o.addrs(st.s)
	if control {
		err := st.transaction(ctx, "control", "MAIL FROM:<"+a.from+">", o.enumRcpts(st.s, random)...)
		if err != nil {
			return err
		}
	}
	for _, v := range chunk {
		if err := st.transaction(ctx, "relay "+v.key, "MAIL FROM:<"+v.from(a)+">", rcptTo{"relay " + v.key + "_rcpt", "RCPT TO:<" + v.rcpt(a) + ">"}); err != nil {
			return err
		}
	}
	return nil
}
