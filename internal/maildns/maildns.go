// Package maildns asks the DNS what a mail domain publishes about its
// transport security (MX, TXT, TLSA) with the DNSSEC OK bit, so that the
// answer's AD bit says whether a validating resolver vouched for it, and
// fetches MTA-STS policies over HTTPS. check_smtp_tls (--dane,
// --mta-sts) and check_smtp_security (--domain) share it, and with it
// --dns-server: every lookup then asks that server alone, /etc/hosts
// included (host addresses go through hostdns).
//
// Not Go's resolver: DANE needs the DO bit in the query and the AD bit of
// the answer, which net.Resolver neither sends nor shows. x/net's
// dnsmessage, which every plugin links for hostdns, sends DO in the OPT
// record and shows AD; the queries go through hostdns's transport.
// miekg/dns would cost 600 KB of binary and a package init at every
// start, --dane or not.
package maildns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// Client asks Server (--dns-server with its port), or else the nameservers
// of ResolvConf.
type Client struct {
	Server     string
	ResolvConf string // "" is /etc/resolv.conf
}

// The record types the checks ask for.
const (
	TypeA     uint16 = 1
	TypeCNAME uint16 = 5
	TypeMX    uint16 = 15
	TypeTXT   uint16 = 16
	TypeAAAA  uint16 = 28
	TypeTLSA  uint16 = 52 // RFC 6698
)

// TypeName names a record type: "TXT", or "TYPE99" (RFC 3597).
func TypeName(t uint16) string {
	switch t {
	case TypeA:
		return "A"
	case TypeCNAME:
		return "CNAME"
	case TypeMX:
		return "MX"
	case TypeTXT:
		return "TXT"
	case TypeAAAA:
		return "AAAA"
	case TypeTLSA:
		return "TLSA"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// Answer is one DNS answer, as far as the checks read it, and who gave it.
type Answer struct {
	Rcode   int  // extended by the OPT record's bits (RFC 6891 §6.1.3)
	AD      bool // a validating resolver vouched for it (DNSSEC)
	Records []Record
	Server  string
}

// Record is one record of the answer section. Names and TXT strings are in
// presentation form (RFC 1035 §5.1), as dig shows them: a hostile zone's
// bytes reach messages as escapes.
type Record struct {
	Name   string // the owner, with its final dot
	Type   uint16
	TXT    []string      // TXT: its strings
	Pref   uint16        // MX
	Target string        // MX: the host; CNAME: the canonical name (with the final dot)
	Addr   netip.Addr    // A, AAAA
	TLSA   tlsaudit.TLSA // TLSA
}

// ErrTimeout marks a query that the deadline ended.
var ErrTimeout = errors.New("no answer before the deadline")

// Servers are the servers to ask: --dns-server, else those of resolv.conf.
func (c Client) Servers(ctx context.Context) ([]string, error) {
	if c.Server != "" {
		return []string{c.Server}, nil
	}
	conf := c.ResolvConf
	if conf == "" {
		conf = "/etc/resolv.conf"
	}
	out, err := hostdns.Nameservers(ctx, conf)
	switch {
	case err != nil:
		return nil, fmt.Errorf("no resolver: %v (give --dns-server)", err)
	case len(out) == 0:
		return nil, fmt.Errorf("no nameserver in %s (give --dns-server)", conf)
	}
	return out, nil
}

// Resolver looks up host addresses: nil (the system's), or one asking
// --dns-server alone, without /etc/hosts.
func (c Client) Resolver() probe.HostResolver {
	if c.Server == "" {
		return nil
	}
	return &hostdns.Resolver{Servers: []string{c.Server}}
}

// ResolverName says who Resolver asks, for messages.
func (c Client) ResolverName() string {
	if c.Server == "" {
		return "the system resolver"
	}
	return c.Server
}

// MaxAnswer is the UDP answer size this side offers (EDNS0); a larger
// answer comes truncated and is asked again over TCP, whose messages DNS
// itself bounds at 64 KiB.
const MaxAnswer = 4096

// Query asks name/qtype with recursion and the DO bit (so that a validating
// resolver sets AD), over UDP and again over TCP when truncated. Servers
// are tried in order until one answers; ctx's deadline bounds each try.
func (c Client) Query(ctx context.Context, name string, qtype uint16) (Answer, error) {
	servers, err := c.Servers(ctx)
	if err != nil {
		return Answer{}, err
	}
	qn, err := dnsmessage.NewName(unpresent(strings.TrimSuffix(name, ".")) + ".")
	if err != nil {
		return Answer{}, fmt.Errorf("%s: %v", name, err)
	}
	q := hostdns.Query{Question: dnsmessage.Question{Name: qn, Type: dnsmessage.Type(qtype), Class: dnsmessage.ClassINET},
		EDNS0: MaxAnswer, DNSSEC: true, FirstReply: true}
	var lastErr error
	for _, server := range servers {
		r, err := new(hostdns.Resolver).Exchange(ctx, server, q)
		// The socket's deadline is ctx's; it may pass a moment before ctx
		// reports it.
		var ne net.Error
		if ctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return Answer{Server: server}, ErrTimeout
		}
		// An answer to another question (a spoof, or a broken server) or
		// one cut short even over TCP is no answer: judged, it would
		// pass a record this name never had, or miss one it has.
		if err == nil {
			err = answers(r, q.Question)
		}
		if err != nil {
			lastErr = fmt.Errorf("%s: %v", server, err)
			continue
		}
		return answer(r, server), nil
	}
	return Answer{}, lastErr
}

// answers checks that r answers q in full.
func answers(r *dnsmessage.Message, q dnsmessage.Question) error {
	if len(r.Questions) != 1 || !strings.EqualFold(r.Questions[0].Name.String(), q.Name.String()) || r.Questions[0].Type != q.Type {
		got := "no question"
		if len(r.Questions) > 0 {
			got = strings.TrimSuffix(present(r.Questions[0].Name.String(), nameSpecial), ".") + " " + TypeName(uint16(r.Questions[0].Type))
		}
		return fmt.Errorf("answered %s instead of %s %s: a broken or spoofing server", got, strings.TrimSuffix(q.Name.String(), "."), TypeName(uint16(q.Type)))
	}
	if r.Truncated {
		return errors.New("the answer came truncated even over TCP")
	}
	return nil
}

// answer is what the checks read of r.
func answer(r *dnsmessage.Message, server string) Answer {
	a := Answer{Rcode: int(r.RCode), AD: r.AuthenticData, Server: server}
	for _, rr := range r.Additionals {
		if rr.Header.Type == dnsmessage.TypeOPT {
			a.Rcode = int(rr.Header.ExtendedRCode(r.RCode))
		}
	}
	for _, rr := range r.Answers {
		rec := Record{Name: present(rr.Header.Name.String(), nameSpecial), Type: uint16(rr.Header.Type)}
		switch b := rr.Body.(type) {
		case *dnsmessage.TXTResource:
			for _, t := range b.TXT {
				rec.TXT = append(rec.TXT, present(t, `"\`))
			}
		case *dnsmessage.MXResource:
			rec.Pref, rec.Target = b.Pref, present(b.MX.String(), nameSpecial)
		case *dnsmessage.CNAMEResource:
			rec.Target = present(b.CNAME.String(), nameSpecial)
		case *dnsmessage.AResource:
			rec.Addr = netip.AddrFrom4(b.A)
		case *dnsmessage.AAAAResource:
			rec.Addr = netip.AddrFrom16(b.AAAA)
		case *dnsmessage.UnknownResource:
			if rec.Type == TypeTLSA {
				rec.TLSA = parseTLSA(b.Data)
			}
		}
		a.Records = append(a.Records, rec)
	}
	return a
}

// nameSpecial are the bytes a name's presentation escapes with a backslash
// (the dot between labels aside: dnsmessage gives names joined).
const nameSpecial = ` '@;()"\`

// present escapes the bytes in special with a backslash and those outside
// printable ASCII as \DDD, as miekg/dns and dig present them.
func present(s, special string) string {
	var b strings.Builder
	for i := range len(s) {
		switch c := s[i]; {
		case strings.IndexByte(special, c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unpresent undoes present's escapes (\DDD, \X), so that a name taken
// from an answer (an MX host) is asked for as the bytes it has, as
// miekg/dns did.
func unpresent(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 10, 8); err == nil { // \DDD, up to 255
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}
