package hostdns

import (
	"errors"
	"net"
	"strconv"
	"strings"
)

// DNS answer codes (RFC 1035 §4.1.1, RFC 2136 §2.2) the checks word.
const (
	RcodeSuccess  = 0
	RcodeFormErr  = 1
	RcodeServFail = 2
	RcodeNXDomain = 3
	RcodeNotImp   = 4
	RcodeRefused  = 5
)

// rcodes name each code and say what it means, in the words of the
// lookup's failure; advice says what to do about it.
var rcodes = map[int]struct{ name, means, advice string }{
	RcodeFormErr: {"FORMERR", "the server could not read the query",
		"the server or a middlebox mangles DNS queries: look at the server"},
	RcodeServFail: {"SERVFAIL", "the resolver could not get an answer",
		"the zone's name servers fail or cannot be reached, or its DNSSEC signatures do not validate (dig +cd tells which): ask the zone's operator"},
	RcodeNXDomain: {"NXDOMAIN", "the name does not exist",
		"check the name: the DNS says there is no such name"},
	RcodeNotImp: {"NOTIMP", "the server does not do this kind of query",
		"point the check at a recursive resolver"},
	RcodeRefused: {"REFUSED", "the server will not answer this query",
		"it is no recursive resolver for this client (an authoritative-only server, or its access rules): point --dns-server at a resolver that serves this client"},
}

// Rcode names a DNS answer code: "SERVFAIL", or "rcode 9".
func Rcode(rc int) string {
	if c, ok := rcodes[rc]; ok {
		return c.name
	}
	return "rcode " + strconv.Itoa(rc)
}

// Meaning is a code's name and what it means: "SERVFAIL: the resolver
// could not get an answer".
func Meaning(rc int) string {
	if c, ok := rcodes[rc]; ok {
		return c.name + ": " + c.means
	}
	return Rcode(rc)
}

// RcodeAdvice says what to do about an answer with code rc.
func RcodeAdvice(rc int) string {
	if c, ok := rcodes[rc]; ok {
		return c.advice
	}
	return "check the name and the resolver"
}

// Failure is a lookup of name that server answered with rc, as
// net.Resolver reports failures, worded by the code.
func Failure(name, server string, rc int) *net.DNSError {
	return &net.DNSError{Err: Meaning(rc), Name: name, Server: server,
		IsNotFound: rc == RcodeNXDomain, IsTemporary: rc == RcodeServFail}
}

// Go's resolver words every failure code but NXDOMAIN so; IsTemporary
// tells SERVFAIL from the others.
const goMisbehaving = "server misbehaving"

// Advice says what to do about a failed lookup: from the answer's code
// where it is known, else in general.
func Advice(err error) string {
	var de *net.DNSError
	if !errors.As(err, &de) {
		return "check the name and the resolver"
	}
	for _, c := range rcodes {
		if strings.HasPrefix(de.Err, c.name+":") {
			return c.advice
		}
	}
	switch {
	case de.Err == errRefused:
		return "check the DNS server's address and port (--dns-server, or the nameserver lines of " + ResolvConf + ")"
	case strings.HasSuffix(de.Err, "(NODATA)"):
		return "the name exists but has no address of this family: publish one, or check -4/-6"
	case de.Err == goMisbehaving && de.IsTemporary:
		return "the resolver answered SERVFAIL: " + rcodes[RcodeServFail].advice
	case de.Err == goMisbehaving:
		return "the resolver answered with a failure code (REFUSED or another): give --dns-server to have the code named, and check that this host may use the resolver"
	}
	return "check the name and the resolver"
}

// isNXDomain reports whether err is a lookup answered NXDOMAIN.
func isNXDomain(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && strings.HasPrefix(de.Err, rcodes[RcodeNXDomain].name+":")
}
