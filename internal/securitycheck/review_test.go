package securitycheck

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/dnstest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// TestDomainRowsHostile: records that look fine at a glance but are not
// (the outside review of --domain): each row's exact state and summary.
func TestDomainRowsHostile(t *testing.T) {
	null := "example.test. 60 IN MX 0 ."
	for _, c := range []struct {
		id, state, summary string
		records            []string
	}{
		{"spf", "CRITICAL", "the SPF record does not parse: redirect= appears more than once (RFC 7208 §6) (permerror)", []string{`example.test. 60 IN TXT "v=spf1 mx redirect=a.test redirect=b.test"`}},
		{"spf", "CRITICAL", "the SPF record does not parse: exp= appears more than once (RFC 7208 §6) (permerror)", []string{`example.test. 60 IN TXT "v=spf1 mx exp=a.test exp=b.test -all"`}},
		{"spf", "CRITICAL", `the SPF record does not parse: unknown term "-" (permerror)`, []string{`example.test. 60 IN TXT "v=spf1 mx - all"`}},
		// A +all inside an include is not seen: the summary must not claim the count is whole.
		{"spf", "OK", "one SPF record, at least 1 of 10 DNS lookups (include and redirect targets not followed), ending -all", []string{`example.test. 60 IN TXT "v=spf1 include:open.example.test -all"`}},
		{"spf", "OK", "one SPF record, 2 of 10 DNS lookups, ending ~all", []string{`example.test. 60 IN TXT "v=spf1 mx a ~all"`}},
		{"dmarc", "WARNING", "policy p=reject, but sp=none: mail that fails DMARC for a subdomain is delivered all the same", []string{`_dmarc.example.test. 60 IN TXT "v=DMARC1; p=reject; sp=none"`}},
		{"dmarc", "WARNING", "policy p=reject for only 10% of the mail that fails DMARC (pct=10): the rest gets the next weaker policy", []string{`_dmarc.example.test. 60 IN TXT "v=DMARC1; p=reject; pct=10"`}},
		{"dmarc", "WARNING", "the DMARC record's pct=all is not a number from 0 to 100", []string{`_dmarc.example.test. 60 IN TXT "v=DMARC1; p=quarantine; pct=all"`}},
		{"dmarc", "OK", "policy p=reject", []string{`_dmarc.example.test. 60 IN TXT "v=DMARC1; p=REJECT; sp=quarantine; pct=100"`}},
		{"tls_rpt", "WARNING", `the TLS-RPT record's rua "tls@example.test" is no mailto: or https: URI (RFC 8460 §3): reports to it go nowhere`, []string{`_smtp._tls.example.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:a@example.test,tls@example.test"`}},
		{"tls_rpt", "OK", "reports go to mailto:a@example.test, https://rpt.example.test/v1", []string{`_smtp._tls.example.test. 60 IN TXT "v=TLSRPTv1; rua=mailto:a@example.test, https://rpt.example.test/v1"`}},
		{"mta_sts", "OK", "mode enforce (no MX host to compare with its mx lines: see mx)", []string{stsRR, "example.test. SERVFAIL"}},
		{"mx", "WARNING", "a null MX beside other MX records: RFC 7505 §3 allows it only alone, so senders may refuse or try the others", []string{null, mxRR}},
		// The real host behind a null MX is still judged, and is all there is to judge.
		{"tlsa", "OK", "every MX host has DNSSEC-validated TLSA records", []string{null, mxRR, tlsaRR}},
	} {
		got, _, _ := domainCheck(t, true, enforce, c.id, c.records...)
		if v := got[c.id]; v.State != c.state || v.Summary != c.summary {
			t.Errorf("%s %q: got %s %q, want %s %q", c.id, c.records, v.State, v.Summary, c.state, c.summary)
		}
	}
}

// TestDomainNoRecordShowsOthers: a record that misses its tag (v=DMARC1
// not first, v=spf10) is no record, and the evidence shows what is there.
func TestDomainNoRecordShowsOthers(t *testing.T) {
	got, _, _ := domainCheck(t, true, enforce, "spf,dmarc", `_dmarc.example.test. 60 IN TXT "p=reject; v=DMARC1"`, `example.test. 60 IN TXT "v=spf10 mx -all"`)
	for id, want := range map[string]string{
		"dmarc": `_dmarc.example.test TXT (asked {dns}): no v=DMARC1 record; other TXT: "p=reject; v=DMARC1"`,
		"spf":   `example.test TXT (asked {dns}): no v=spf1 record; other TXT: "v=spf10 mx -all"`,
	} {
		v := got[id]
		_, rest, _ := strings.Cut(v.Evidence[0], "(asked ")
		addr, _, _ := strings.Cut(rest, ")")
		if v.State != "WARNING" || len(v.Evidence) != 1 || strings.Replace(v.Evidence[0], addr, "{dns}", 1) != want {
			t.Errorf("%s: got %s %q, want %q", id, v.State, v.Evidence, want)
		}
	}
}

// TestDomainManyRecords: a name with hundreds of SPF records is listed
// three and a count, not hundreds of lines.
func TestDomainManyRecords(t *testing.T) {
	var recs []string
	for i := range 50 {
		recs = append(recs, `example.test. 60 IN TXT "v=spf1 ip4:192.0.2.`+strconv.Itoa(i)+` -all"`)
	}
	got, _, _ := domainCheck(t, true, enforce, "spf", recs...)
	v := got["spf"]
	if v.State != "CRITICAL" || len(v.Evidence) != 4 || v.Evidence[3] != "and 47 more" {
		t.Errorf("got %s %q", v.State, v.Evidence)
	}
}

// TestDomainSTSLookupStall: an MTA-STS TXT lookup that the deadline ends
// names that lookup, not a policy URL it never got to.
func TestDomainSTSLookupStall(t *testing.T) {
	dnsAddr := dnstest.Start(t, true, mxRR, stsRR, "_mta-sts.example.test. SLOW")
	began := time.Now()
	out := check(t, "-H", "127.0.0.1", "-p", "1", "-t", "1", "--domain", "example.test", "--dns-server", dnsAddr, "--only", "mta_sts")
	out.Expect(t, 2, "SMTP SECURITY CRITICAL - mta_sts: no answer for _mta-sts.example.test TXT (asked "+dnsAddr+") within the 1 s timeout")
	time.Sleep(time.Until(began.Add(dnstest.SlowDelay + 200*time.Millisecond))) // let the late answer go before goleak looks
}

// TestRcptEnumRefusedApart: a submission port that refuses both names
// before a login, but only the random one as unknown (550 5.1.1 against a
// policy 554 5.7.1 for postmaster), still tells which exists.
func TestRcptEnumRefusedApart(t *testing.T) {
	srv := answering(t, func(line string) (string, bool) {
		switch verb := strings.ToUpper(line); {
		case strings.HasPrefix(verb, "RCPT") && strings.Contains(verb, "<POSTMASTER@"):
			return "554 5.7.1 Access denied", false
		case strings.HasPrefix(verb, "RCPT"):
			return "550 5.1.1 User unknown", false
		case verb == "QUIT":
			return "221 2.0.0 Bye", true
		}
		return "250 2.0.0 Ok", false
	})
	out := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "--role", "submission", "--no-tls", "--local-domain", "example.test", "--only", "rcpt_enum")
	out.Expect(t, 1, "SMTP SECURITY WARNING - rcpt_enum: RCPT tells users apart before any login: 554 5.7.1 for postmaster, but 550 5.1.1 (no such user) for a random name: addresses can be harvested here")
}

// TestSmugglingEveryEnd: a server that takes every false end names three
// on the status line and counts the rest; the evidence lists all seven.
func TestSmugglingEveryEnd(t *testing.T) {
	srv := answering(t, func(line string) (string, bool) {
		switch {
		case line == "DATA":
			return "354 End data with <CR><LF>.<CR><LF>", false
		case strings.Contains(line, "instead of CRLF.CRLF"):
			return "250 2.0.0 Ok: queued", true
		case strings.HasPrefix(line, "MAIL"), strings.HasPrefix(line, "RCPT"):
			return "250 2.1.0 Ok", false
		}
		return "", false // a line of the message
	})
	got, out := items(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "--no-tls", "--only", "smuggling", "--smuggling-rcpt", "postmaster@example.test", "-t", "5")
	v := got["smuggling"]
	if out.Code != 2 || v.Summary != `the server ended DATA at "\n.\n", "\n.\r\n", "\r.\r\n" and 4 more of 7 variants (not CRLF.CRLF): mail can be smuggled through it` || len(v.Evidence) != 8 {
		t.Errorf("exit %d: %q\n%q", out.Code, v.Summary, v.Evidence)
	}
}

// answering is a server that greets, answers EHLO, then answers each line
// it reads with reply ("" for none) until done.
func answering(t *testing.T, reply func(line string) (string, bool)) *smtptest.FaultServer {
	return smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
		if c.Greet() != nil || c.EHLO() != nil {
			return
		}
		for {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			r, done := reply(line)
			if r != "" && c.Send(r) != nil || done {
				return
			}
		}
	})
}

// TestRcptEnumPenalty: a server that refuses every recipient once one was
// unknown still shows that it tells names apart: the known one is asked
// first.
func TestRcptEnumPenalty(t *testing.T) {
	var penalised atomic.Bool // after an unknown recipient, until the next MAIL
	srv := answering(t, func(line string) (string, bool) {
		verb := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(verb, "RCPT") && penalised.Load():
			return "550 5.1.1 User unknown", false
		case strings.HasPrefix(verb, "RCPT") && strings.Contains(verb, "<POSTMASTER@"):
			return "250 2.1.5 Ok", false
		case strings.HasPrefix(verb, "RCPT"):
			penalised.Store(true)
			return "550 5.1.1 User unknown", false
		case strings.HasPrefix(verb, "MAIL"):
			penalised.Store(false)
		case verb == "QUIT":
			return "221 2.0.0 Bye", true
		}
		return "250 2.0.0 Ok", false
	})
	out := check(t, "-H", "127.0.0.1", "-p", strconv.Itoa(srv.Port), "--role", "submission", "--no-tls", "--local-domain", "example.test", "--only", "rcpt_enum")
	out.Expect(t, 1, "SMTP SECURITY WARNING - rcpt_enum: RCPT tells users apart before any login: 250 for postmaster, 550 for a random name: addresses can be harvested here")
}
