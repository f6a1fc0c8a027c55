package maildns

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// hostile answers UDP and TCP on one loopback port with answer(q, tcp).
func hostile(t *testing.T, answer func(q *dns.Msg, tcp bool) *dns.Msg) string {
	t.Helper()
	// The kernel picks the UDP port; that port may be taken for TCP, so a
	// few fresh pairs are tried (CI runs many servers at once).
	var (
		pc  net.PacketConn
		l   net.Listener
		err error
	)
	for range 20 {
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*dns.Server{{PacketConn: pc}, {Listener: l}} {
		tcp := srv.Listener != nil
		srv.Handler = dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) { _ = w.WriteMsg(answer(q, tcp)) })
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() { _ = srv.ActivateAndServe() }()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String()
}

func txtReply(q *dns.Msg, name, text string) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	m.Question[0].Name = name
	m.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: []string{text}}}
	return m
}

// TestQueryRefusesOtherAnswers: an answer to another name (a spoof) or one
// truncated even over TCP is an error, never records to judge; a proper
// answer, upper case and all, is taken.
func TestQueryRefusesOtherAnswers(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer func(q *dns.Msg, tcp bool) *dns.Msg
		want   string // the error; "" for the record
	}{
		{"spoofed name", func(q *dns.Msg, _ bool) *dns.Msg { return txtReply(q, "_dmarc.evil.test.", "v=DMARC1; p=reject") },
			"{dns}: answered _dmarc.evil.test TXT instead of _dmarc.example.test TXT: a broken or spoofing server"},
		{"truncated over TCP", func(q *dns.Msg, _ bool) *dns.Msg {
			m := new(dns.Msg)
			m.SetReply(q)
			m.Truncated = true
			return m
		}, "{dns}: the answer came truncated even over TCP"},
		{"truncated over UDP only", func(q *dns.Msg, tcp bool) *dns.Msg {
			m := txtReply(q, q.Question[0].Name, "v=DMARC1; p=reject")
			m.Truncated = !tcp
			return m
		}, ""},
		{"another type", func(q *dns.Msg, _ bool) *dns.Msg {
			m := txtReply(q, q.Question[0].Name, "v=DMARC1; p=reject")
			m.Question[0].Qtype = dns.TypeMX
			return m
		}, "{dns}: answered _dmarc.example.test MX instead of _dmarc.example.test TXT: a broken or spoofing server"},
		{"an unknown type", func(q *dns.Msg, _ bool) *dns.Msg {
			m := txtReply(q, q.Question[0].Name, "v=DMARC1; p=reject")
			m.Question[0].Qtype = 99
			return m
		}, "{dns}: answered _dmarc.example.test TYPE99 instead of _dmarc.example.test TXT: a broken or spoofing server"},
		{"no question", func(q *dns.Msg, _ bool) *dns.Msg {
			m := txtReply(q, q.Question[0].Name, "v=DMARC1; p=reject")
			m.Question = nil
			return m
		}, "{dns}: answered no question instead of _dmarc.example.test TXT: a broken or spoofing server"},
		{"upper case", func(q *dns.Msg, _ bool) *dns.Msg { return txtReply(q, "_DMARC.Example.TEST.", "v=DMARC1; p=reject") }, ""},
	} {
		addr := hostile(t, c.answer)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ans, err := Client{Server: addr}.Query(ctx, "_dmarc.example.test", TypeTXT)
		cancel()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && (len(TXT(ans)) != 1 || TXT(ans)[0] != "v=DMARC1; p=reject"):
			t.Errorf("%s: got %+v", c.name, ans)
		case c.want != "" && (err == nil || err.Error() != replaceAddr(c.want, addr)):
			t.Errorf("%s: got %v, want %s", c.name, err, replaceAddr(c.want, addr))
		}
	}
}

func replaceAddr(s, addr string) string {
	const tag = "{dns}"
	if len(s) >= len(tag) && s[:len(tag)] == tag {
		return addr + s[len(tag):]
	}
	return s
}

// answerWith answers q with rrs (zone-file lines), as a resolver would;
// "NAME TYPE52 HEX" is a TLSA record's RDATA as it is, short or empty.
func answerWith(t *testing.T, q *dns.Msg, rrs ...string) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(q)
	for _, s := range rrs {
		if name, rdata, ok := strings.Cut(s, " TYPE52 "); ok {
			m.Answer = append(m.Answer, &dns.RFC3597{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeTLSA, Class: dns.ClassINET, Ttl: 60}, Rdata: rdata})
			continue
		}
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		m.Answer = append(m.Answer, rr)
	}
	return m
}

// TestAnswerRecords: what the checks read of an answer (owners, types,
// TXT strings, MX, CNAME chains, addresses, TLSA data, AD, the rcode) is
// parsed from the message; the query asks with DO and AD in EDNS0.
func TestAnswerRecords(t *testing.T) {
	tlsa := func(u, s, m uint8, data ...byte) tlsaudit.TLSA {
		return tlsaudit.TLSA{Usage: u, Selector: s, MatchingType: m, Data: append([]byte{}, data...)}
	}
	for _, c := range []struct {
		name  string
		qtype uint16
		rrs   []string
		ad    bool
		rcode int
		want  []Record
	}{
		{"TXT strings", TypeTXT, []string{`a.test. 60 IN TXT "v=spf1 " "-all"`, `a.test. 60 IN TXT "say \"hi\"\\ \001"`}, false, 0, []Record{
			{Name: "a.test.", Type: TypeTXT, TXT: []string{"v=spf1 ", "-all"}},
			{Name: "a.test.", Type: TypeTXT, TXT: []string{`say \"hi\"\\ \001`}}}},
		{"MX with AD", TypeMX, []string{"a.test. 60 IN MX 10 MX1.a.test.", "a.test. 60 IN MX 0 ."}, true, 0, []Record{
			{Name: "a.test.", Type: TypeMX, Pref: 10, Target: "MX1.a.test."},
			{Name: "a.test.", Type: TypeMX, Target: "."}}},
		{"CNAME chain", TypeA, []string{"a.test. 60 IN CNAME b.test.", "b.test. 60 IN CNAME c.test.", "c.test. 60 IN A 192.0.2.1", "c.test. 60 IN AAAA 2001:db8::1"}, false, 0, []Record{
			{Name: "a.test.", Type: TypeCNAME, Target: "b.test."},
			{Name: "b.test.", Type: TypeCNAME, Target: "c.test."},
			{Name: "c.test.", Type: TypeA, Addr: netip.MustParseAddr("192.0.2.1")},
			{Name: "c.test.", Type: TypeAAAA, Addr: netip.MustParseAddr("2001:db8::1")}}},
		{"TLSA good, empty and short", TypeTLSA, []string{"a.test. 60 IN TLSA 3 1 1 a1b2", "a.test. TYPE52 020000", "a.test. TYPE52 0301", "a.test. TYPE52 "}, true, 0, []Record{
			{Name: "a.test.", Type: TypeTLSA, TLSA: tlsa(3, 1, 1, 0xa1, 0xb2)},
			{Name: "a.test.", Type: TypeTLSA, TLSA: tlsa(2, 0, 0)},
			{Name: "a.test.", Type: TypeTLSA, TLSA: tlsaudit.TLSA{Short: true, Data: []byte{3, 1}}},
			{Name: "a.test.", Type: TypeTLSA, TLSA: tlsaudit.TLSA{Short: true, Data: []byte{}}}}},
		{"extended rcode", TypeTXT, nil, false, dns.RcodeBadVers, nil},
	} {
		addr := hostile(t, func(q *dns.Msg, _ bool) *dns.Msg {
			m := answerWith(t, q, c.rrs...)
			opt := q.IsEdns0()
			if opt == nil || !opt.Do() || opt.UDPSize() != MaxAnswer || !q.AuthenticatedData || !q.RecursionDesired {
				m.Rcode = dns.RcodeFormatError
			} else {
				m.AuthenticatedData, m.Rcode = c.ad, c.rcode
			}
			m.SetEdns0(4096, true)
			return m
		})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ans, err := Client{Server: addr}.Query(ctx, "a.test", c.qtype)
		cancel()
		if err != nil || ans.Rcode != c.rcode || ans.AD != c.ad || ans.Server != addr || !reflect.DeepEqual(ans.Records, c.want) {
			t.Errorf("%s: got %+v, %v", c.name, ans, err)
		}
	}
}

// TestTLSAData: a TLSA record's data needs its three fields, else it is
// Short (kept, to be named unusable); the association data may be empty,
// and is a copy of the message's bytes.
func TestTLSAData(t *testing.T) {
	rdata := []byte{3, 1, 1, 0xa1, 0xb2}
	got := parseTLSA(rdata)
	rdata[3] = 0
	if !reflect.DeepEqual(got, tlsaudit.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: []byte{0xa1, 0xb2}}) {
		t.Errorf("good: %+v", got)
	}
	if got := parseTLSA([]byte{2, 0, 0}); len(got.Data) != 0 || got.Usage != 2 {
		t.Errorf("empty data: %+v", got)
	}
	for _, short := range [][]byte{{}, {3}, {3, 1}} {
		if got := parseTLSA(short); !reflect.DeepEqual(got, tlsaudit.TLSA{Short: true, Data: short}) || got.Usable() {
			t.Errorf("%v: %+v, want a short record", short, got)
		}
	}
}

// TestUnpresent: a name read from an answer and shown escaped (an MX host
// with odd bytes) is asked for as its own bytes again.
func TestUnpresent(t *testing.T) {
	var all []byte
	for c := range 256 {
		if c != '.' {
			all = append(all, byte(c))
		}
	}
	raw := string(all)
	if got := unpresent(present(raw, nameSpecial)); got != raw {
		t.Errorf("round trip: %q", got)
	}
	for in, want := range map[string]string{`nul\000x.test`: "nul\x00x.test", `a\"b`: `a"b`, `x\256`: "x256", `end\`: `end\`, `mx.test`: "mx.test"} {
		if got := unpresent(in); got != want {
			t.Errorf("unpresent(%q) = %q, want %q", in, got, want)
		}
	}
}
