package maildns

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
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
		{"upper case", func(q *dns.Msg, _ bool) *dns.Msg { return txtReply(q, "_DMARC.Example.TEST.", "v=DMARC1; p=reject") }, ""},
	} {
		addr := hostile(t, c.answer)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ans, err := Client{Server: addr}.Query(ctx, "_dmarc.example.test", dns.TypeTXT)
		cancel()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && (len(TXT(ans.Msg)) != 1 || TXT(ans.Msg)[0] != "v=DMARC1; p=reject"):
			t.Errorf("%s: got %v", c.name, ans.Msg)
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
