// Package dnstest is an in-process DNS server for tests: the code under
// test is pointed at it (--dns-server), so no query leaves the machine.
package dnstest

import (
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// SlowDelay is how long a name marked SLOW waits for its answer.
const SlowDelay = 1500 * time.Millisecond

// TB is the part of testing.TB the server needs.
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start answers from a fixed zone on 127.0.0.1 (UDP) and returns its
// address, so that a test's queries never leave the machine. records are
// zone-file lines; a name followed by the pseudo type "SERVFAIL" or
// "REFUSED" gets that rcode, followed by "SLOW" its answer only after SlowDelay (a resolver
// slower than -t). CNAMEs are followed within the answer, as a recursive resolver
// does. With ad the answers carry the AD bit, as a DNSSEC-validating
// resolver sets it for a signed zone, unless a name on the way is followed
// by the pseudo type "INSECURE" (an unsigned zone). The server stops at
// the test's end.
func Start(t TB, ad bool, records ...string) string {
	t.Helper()
	zone := map[uint16]map[string][]dns.RR{}
	servfail, refused, insecure, slow := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range records {
		if name, ok := strings.CutSuffix(r, " SLOW"); ok {
			slow[strings.ToLower(dns.Fqdn(name))] = true
			continue
		}
		if name, ok := strings.CutSuffix(r, " SERVFAIL"); ok {
			servfail[strings.ToLower(dns.Fqdn(name))] = true
			continue
		}
		if name, ok := strings.CutSuffix(r, " REFUSED"); ok {
			refused[strings.ToLower(dns.Fqdn(name))] = true
			continue
		}
		if name, ok := strings.CutSuffix(r, " INSECURE"); ok {
			insecure[strings.ToLower(dns.Fqdn(name))] = true
			continue
		}
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("%q: %v", r, err)
		}
		h := rr.Header()
		if zone[h.Rrtype] == nil {
			zone[h.Rrtype] = map[string][]dns.RR{}
		}
		zone[h.Rrtype][strings.ToLower(h.Name)] = append(zone[h.Rrtype][strings.ToLower(h.Name)], rr)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		m.RecursionAvailable = true
		qq := q.Question[0]
		name := strings.ToLower(qq.Name)
		if slow[name] {
			time.Sleep(SlowDelay)
		}
		secure := ad && !insecure[name]
		for hop := 0; hop < 8; hop++ {
			if rrs := zone[qq.Qtype][name]; len(rrs) > 0 || qq.Qtype == dns.TypeCNAME {
				m.Answer = append(m.Answer, rrs...)
				break
			}
			alias := zone[dns.TypeCNAME][name]
			if len(alias) == 0 {
				break
			}
			m.Answer = append(m.Answer, alias[0])
			name = strings.ToLower(alias[0].(*dns.CNAME).Target)
			secure = secure && !insecure[name]
		}
		known := false
		for _, byName := range zone {
			known = known || byName[name] != nil
		}
		switch {
		case servfail[name]:
			m.Rcode = dns.RcodeServerFailure
		case refused[name]:
			m.Answer, m.Rcode = nil, dns.RcodeRefused
		case !known:
			m.Rcode = dns.RcodeNameError
		}
		m.AuthenticatedData = secure && m.Rcode != dns.RcodeServerFailure && m.Rcode != dns.RcodeRefused
		if opt := q.IsEdns0(); opt != nil {
			m.SetEdns0(4096, opt.Do())
		}
		_ = w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}
