package smtp

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// Seeds shared by the f.Add calls; testdata/fuzz holds the same kinds of input.
var replySeeds = []string{
	"220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n",
	"220-mx.example.org ESMTP\r\n220 mx.example.org ESMTP\r\n",
	"250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
	"250-EX01.corp.example.com Hello [192.0.2.7]\r\n250-SIZE 37748736\r\n250-AUTH NTLM\r\n250 XRDST\r\n",
	"250-smtp.gmail.com at your service\r\n250-SIZE 35882577\r\n250 STARTTLS\r\n",
	"535 5.7.8 Authentication credentials invalid\r\n",
	"250-mx\n250 ok\n",
	"250-mx\r\n250-PIPE\nLINING\r\n250 ok\r\n",
	"250-mx\r\n251 ok\r\n",
	"250-hostile\r250 8BITMIME\r\n",
	"250 ok\r550 no\r\n",
	"250-mx\r\n",
	"250\r\n",
	"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	"HTTP/1.1 400 Bad Request\r\n\r\n",
	"250 " + strings.Repeat("x", MaxLineBytes) + "\r\n",
	strings.Repeat("250-x\r\n", MaxReplyLines) + "250 x\r\n",
}

func FuzzReadReply(f *testing.F) {
	for _, s := range replySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bytes.NewReader(data)
		r := newReader(br)
		rep, err := ReadReply(r)
		// How the bytes arrive must not change the outcome.
		rep1, err1 := ReadReply(newReader(iotest.OneByteReader(bytes.NewReader(data))))
		if errText(err) != errText(err1) || rep.Code != rep1.Code || rep.Enhanced != rep1.Enhanced || !equalLines(rep.Lines, rep1.Lines) {
			t.Fatalf("whole reads: %#v, %v\nbyte reads: %#v, %v", rep, err, rep1, err1)
		}
		if err != nil {
			return
		}
		// Every line read ended in CRLF and no CR or LF stands alone: a
		// bare LF never ends a line, a bare CR never joins two.
		read := data[:len(data)-br.Len()-r.Buffered()]
		crlf := bytes.Count(read, []byte("\r\n"))
		if !bytes.HasSuffix(read, []byte("\r\n")) || bytes.Count(read, []byte("\n")) != crlf || bytes.Count(read, []byte("\r")) != crlf {
			t.Errorf("accepted %q: a bare CR or LF", read)
		}
		if rep.Code < 200 || rep.Code > 599 {
			t.Errorf("code %d out of range", rep.Code)
		}
		if n := len(rep.Lines); n < 1 || n > MaxReplyLines {
			t.Errorf("%d lines", n)
		}
		for _, l := range rep.Lines {
			if len(l) > MaxLineBytes {
				t.Errorf("line of %d bytes", len(l))
			}
			if strings.ContainsAny(l, "\r\n") {
				t.Errorf("line %q contains CR or LF", l)
			}
		}
		if rep.Enhanced != "" && (rep.Enhanced[0]-'0' != byte(rep.Class()) || !strings.HasPrefix(rep.Lines[0], rep.Enhanced)) {
			t.Errorf("enhanced code %q on %d %q", rep.Enhanced, rep.Code, rep.Lines[0])
		}
	})
}

var ehloSeeds = []string{
	"mx.example.org\nPIPELINING\nSIZE 10240000\nSTARTTLS\nAUTH PLAIN LOGIN\nAUTH=PLAIN LOGIN\n8BITMIME",
	"EX01.corp.example.com Hello [192.0.2.7]\nSIZE 37748736\nX-ANONYMOUSTLS\nAUTH NTLM\nX-EXPS GSSAPI NTLM\nXRDST",
	"smtp.gmail.com at your service\nSIZE 35882577\n8BITMIME\nSTARTTLS",
	"mx\nAUTH=LOGIN PLAIN\nAUTH PLAIN CRAM-MD5\nauth login",
	"mx\n  auth=login\nSIZE\nsize 1",
	"mx\n\n \nAUTH=\nAUTH",
	"",
	"ıſ\nauth=ı\xff\nſize -1",
}

func FuzzParseEHLO(f *testing.F) {
	for _, s := range ehloSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		domain, ext := ParseEHLO(Reply{Code: 250, Lines: strings.Split(s, "\n")})
		if strings.Contains(domain, " ") {
			t.Errorf("domain %q contains a space", domain)
		}
		for k := range ext {
			if k == "" || k != strings.ToUpper(k) {
				t.Errorf("key %q is not upper-case and non-empty", k)
			}
			if !ext.Has(k) {
				t.Errorf("Has(%q) = false", k)
			}
		}
		seen := map[string]bool{}
		for _, m := range ext.AuthMechanisms() {
			if m == "" || seen[m] || m != strings.ToUpper(m) {
				t.Errorf("AuthMechanisms() = %q", ext.AuthMechanisms())
			}
			seen[m] = true
		}
		names := ext.Names()
		if len(names) != len(ext) {
			t.Errorf("Names() has %d, extensions %d", len(names), len(ext))
		}
		for i := 1; i < len(names); i++ {
			if names[i-1] >= names[i] {
				t.Errorf("Names() not sorted: %q", names)
			}
		}
		if n, ok := ext.Size(); ok && n < 0 {
			t.Errorf("Size() = %d, true", n)
		}
	})
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
