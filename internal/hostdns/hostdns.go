// Package hostdns looks up a host's addresses by DNS alone, and words what
// a DNS answer's failure code means for a check.
//
// An MTA finds an MX host's addresses by DNS alone (Postfix:
// smtp_host_lookup=dns), and --dns-server promises to test what that server
// says; but Go's resolver reads /etc/hosts first, so a name the DNS does not
// know could still pass: a false OK. So the A and AAAA queries are sent by
// hand (x/net's dnsmessage, which the standard library carries anyway;
// miekg/dns would cost every start), to the given server or else to the
// nameservers of resolv.conf: the same servers Go's resolver would ask,
// without its /etc/hosts step.
package hostdns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
)

// ResolvConf is the system resolver's configuration; a variable for tests.
var ResolvConf = "/etc/resolv.conf"

// Per query to one server, as resolv.conf's defaults (timeout:5, attempts:2),
// always within ctx's deadline.
const (
	tryTimeout    = 5 * time.Second
	attempts      = 2
	maxResolvConf = 64 << 10 // a few lines; a bigger one is no resolv.conf
)

// Go's resolver words these failures so; the same words keep messages alike
// whichever lookup failed.
const (
	errNoSuchHost     = "no such host"
	errNoAnswerInTime = "i/o timeout"
	errRefused        = "connection refused: no DNS server listens there"
)

// Resolver looks up host addresses by DNS only.
type Resolver struct {
	Servers []string // host:port, asked in turn
	Dial    func(ctx context.Context, network, addr string) (net.Conn, error)
}

// New asks server (host:port), or the system's nameservers when it is "".
func New(ctx context.Context, server string) *Resolver {
	r := &Resolver{Dial: new(net.Dialer).DialContext}
	if server != "" {
		r.Servers = []string{server}
	} else {
		r.Servers = SystemNameservers(ctx)
	}
	return r
}

// SystemNameservers are resolv.conf's nameservers; like the C library and
// Go, the local host's when it names none or cannot be read.
func SystemNameservers(ctx context.Context) []string {
	if servers, _ := Nameservers(ctx, ResolvConf); len(servers) > 0 {
		return servers
	}
	return []string{"127.0.0.1:53", "[::1]:53"}
}

// Nameservers are the nameservers conf names, host:53 each, or why it
// cannot be read.
func Nameservers(ctx context.Context, conf string) ([]string, error) {
	b, err := boundedfile.Read(ctx, "the resolver configuration", conf, maxResolvConf, nil)
	var servers []string
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		if a, err := netip.ParseAddr(f[1]); err == nil {
			servers = append(servers, netip.AddrPortFrom(a, 53).String())
		}
	}
	return servers, err
}

// LookupNetIP returns host's addresses for network ("ip4", "ip6" or "ip":
// both, IPv4 first) as net.Resolver's method does, and fails with a
// *net.DNSError whose text names the answer's failure code (Failure).
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var types []dnsmessage.Type
	if network != "ip6" {
		types = append(types, dnsmessage.TypeA)
	}
	if network != "ip4" {
		types = append(types, dnsmessage.TypeAAAA)
	}
	type answer struct {
		addrs []netip.Addr
		err   error
	}
	answers := make([]chan answer, len(types))
	for i, qt := range types { // side by side, as a resolver asks
		answers[i] = make(chan answer, 1)
		go func() {
			addrs, err := r.query(ctx, host, qt)
			answers[i] <- answer{addrs, err}
		}()
	}
	var addrs []netip.Addr
	var notFound, failed error
	for _, c := range answers {
		a := <-c
		addrs = append(addrs, a.addrs...)
		switch {
		case IsNotFound(a.err):
			// NXDOMAIN for one type is NXDOMAIN for the name: it says more
			// than the other type's NODATA
			if notFound == nil || isNXDomain(a.err) {
				notFound = a.err
			}
		case a.err != nil && failed == nil:
			failed = a.err
		}
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	if failed != nil { // a timeout says more than the other family's NODATA
		return nil, failed
	}
	if de, ok := notFound.(*net.DNSError); ok && len(types) == 2 && !isNXDomain(de) {
		de.Err = "no A or AAAA records (NODATA)"
	}
	return nil, notFound
}

// query asks for name's records of type qt, trying each server in turn,
// twice, as Go's resolver does.
func (r *Resolver) query(ctx context.Context, name string, qt dnsmessage.Type) ([]netip.Addr, error) {
	fqdn := strings.TrimSuffix(name, ".") + "."
	qn, err := dnsmessage.NewName(fqdn)
	if err != nil {
		return nil, &net.DNSError{Err: errNoSuchHost, Name: name, IsNotFound: true}
	}
	q := dnsmessage.Question{Name: qn, Type: qt, Class: dnsmessage.ClassINET}
	var last *net.DNSError
	for range attempts {
		for _, server := range r.Servers {
			if expired(ctx) {
				return nil, &net.DNSError{Err: errNoAnswerInTime, Name: name, Server: server, IsTimeout: true}
			}
			tryCtx, cancel := context.WithTimeout(ctx, tryTimeout)
			msg, err := r.Exchange(tryCtx, server, Query{Question: q})
			cancel()
			switch {
			case err != nil:
				var ne net.Error
				timeout := errors.As(err, &ne) && ne.Timeout() || expired(ctx)
				text := err.Error()
				switch {
				case timeout:
					text = errNoAnswerInTime
				case errors.Is(err, syscall.ECONNREFUSED):
					text = errRefused
				}
				last = &net.DNSError{Err: text, Name: name, Server: server, IsTimeout: timeout}
				continue
			case msg.RCode == dnsmessage.RCodeNameError:
				return nil, Failure(name, server, int(msg.RCode))
			case msg.RCode != dnsmessage.RCodeSuccess: // SERVFAIL, REFUSED …: ask the next
				last = Failure(name, server, int(msg.RCode))
				continue
			}
			if addrs := addresses(msg, qn, qt); len(addrs) > 0 {
				return addrs, nil
			}
			// NODATA: the name has no such records
			return nil, &net.DNSError{Err: "no " + qt.String()[len("Type"):] + " records (NODATA)", Name: name, Server: server, IsNotFound: true}
		}
	}
	return nil, last
}

// expired reports whether ctx's deadline has passed. Reads bound by the
// same instant may end before ctx.Err() says so.
func expired(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ctx.Err() != nil || ok && !time.Now().Before(dl)
}

// addresses are msg's records of type qt for name, following the CNAMEs of
// the answer as a recursive resolver hands them over.
func addresses(msg *dnsmessage.Message, name dnsmessage.Name, qt dnsmessage.Type) []netip.Addr {
	owner := strings.ToLower(name.String())
	for range 8 { // a CNAME chain's hops, bounded against loops
		next := ""
		for _, rr := range msg.Answers {
			if c, ok := rr.Body.(*dnsmessage.CNAMEResource); ok && strings.EqualFold(rr.Header.Name.String(), owner) {
				next = strings.ToLower(c.CNAME.String())
			}
		}
		if next == "" {
			break
		}
		owner = next
	}
	var out []netip.Addr
	for _, rr := range msg.Answers {
		if rr.Header.Type != qt || !strings.EqualFold(rr.Header.Name.String(), owner) {
			continue
		}
		switch b := rr.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(b.A))
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(b.AAAA).Unmap())
		}
	}
	return out
}

// Query is a question and how to ask it.
type Query struct {
	Question dnsmessage.Question
	EDNS0    int  // the UDP answer size offered in an OPT record (RFC 6891); 0: none
	DNSSEC   bool // with EDNS0: the DO bit, and AD asked for (RFC 6840 §5.7), so that a validating resolver sets AD
	// FirstReply takes the first answer with the query's ID, whatever its
	// question, and fails on one that cannot be read, for the caller to
	// judge (maildns names a spoof); else every datagram that is not the
	// answer is skipped as late or forged, as Go's resolver does.
	FirstReply bool
}

// Exchange sends q to server over UDP, and again over TCP when the answer
// was truncated, within ctx.
func (r *Resolver) Exchange(ctx context.Context, server string, q Query) (*dnsmessage.Message, error) {
	msg, err := r.exchangeOver(ctx, "udp", server, q)
	if err == nil && msg.Truncated {
		return r.exchangeOver(ctx, "tcp", server, q)
	}
	return msg, err
}

// exchangeOver asks q once over network and returns the answer to it.
func (r *Resolver) exchangeOver(ctx context.Context, network, server string, q Query) (*dnsmessage.Message, error) {
	id := uint16(rand.Uint32())
	msg := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true, AuthenticData: q.DNSSEC},
		Questions: []dnsmessage.Question{q.Question},
	}
	if q.EDNS0 > 0 {
		var opt dnsmessage.ResourceHeader
		if err := opt.SetEDNS0(q.EDNS0, dnsmessage.RCodeSuccess, q.DNSSEC); err != nil {
			return nil, err
		}
		msg.Additionals = []dnsmessage.Resource{{Header: opt, Body: &dnsmessage.OPTResource{}}}
	}
	query, err := msg.Pack()
	if err != nil {
		return nil, err
	}
	dial := r.Dial
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	c, err := dial(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	stream := network == "tcp"
	if stream { // RFC 1035 §4.2.2: a two-byte length first
		query = append(binary.BigEndian.AppendUint16(nil, uint16(len(query))), query...)
	}
	if _, err := c.Write(query); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	for {
		n, err := ReadMessage(c, buf, stream)
		if err != nil {
			return nil, err
		}
		var m dnsmessage.Message
		err = m.Unpack(buf[:n])
		ours := err == nil && m.Response && m.ID == id
		switch {
		case ours && (q.FirstReply || len(m.Questions) == 1 && m.Questions[0].Type == q.Question.Type &&
			strings.EqualFold(m.Questions[0].Name.String(), q.Question.Name.String())):
			return &m, nil
		case err != nil && q.FirstReply:
			return nil, fmt.Errorf("an unreadable answer: %v", err)
		case stream:
			return nil, errors.New("the server's answer does not match the question")
		}
		// a datagram that is not the answer: late or forged, skipped
	}
}

// ReadMessage reads one DNS message: a datagram, or a length and as many
// bytes from a stream.
func ReadMessage(c net.Conn, buf []byte, stream bool) (int, error) {
	if !stream {
		return c.Read(buf)
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(buf[:2]))
	return io.ReadFull(c, buf[:n])
}

// IsNotFound reports whether err is a lookup that found no such name or
// no records of the type asked.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
