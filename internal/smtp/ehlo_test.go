package smtp

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// ehloReply reads raw as an EHLO reply, as it comes off the wire.
func ehloReply(t *testing.T, raw string) Reply {
	t.Helper()
	rep, err := ReadReply(newReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("ReadReply: %v", err)
	}
	return rep
}

func TestParseEHLO(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		domain string
		ext    Extensions
		auth   []string
		names  []string
	}{
		{
			name: "Postfix",
			raw: "250-mx.example.org\r\n" +
				"250-PIPELINING\r\n" +
				"250-SIZE 10240000\r\n" +
				"250-VRFY\r\n" +
				"250-ETRN\r\n" +
				"250-STARTTLS\r\n" +
				"250-AUTH PLAIN LOGIN\r\n" +
				"250-AUTH=PLAIN LOGIN\r\n" +
				"250-ENHANCEDSTATUSCODES\r\n" +
				"250-8BITMIME\r\n" +
				"250-DSN\r\n" +
				"250-SMTPUTF8\r\n" +
				"250 CHUNKING\r\n",
			domain: "mx.example.org",
			ext: Extensions{
				"PIPELINING": "", "SIZE": "10240000", "VRFY": "", "ETRN": "",
				"STARTTLS": "", "AUTH": "PLAIN LOGIN PLAIN LOGIN", "ENHANCEDSTATUSCODES": "",
				"8BITMIME": "", "DSN": "", "SMTPUTF8": "", "CHUNKING": "",
			},
			auth: []string{"PLAIN", "LOGIN"},
			names: []string{
				"8BITMIME", "AUTH", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES", "ETRN",
				"PIPELINING", "SIZE", "SMTPUTF8", "STARTTLS", "VRFY",
			},
		},
		{
			name: "Exchange",
			raw: "250-EX01.corp.example.com Hello [192.0.2.7]\r\n" +
				"250-SIZE 37748736\r\n" +
				"250-PIPELINING\r\n" +
				"250-DSN\r\n" +
				"250-ENHANCEDSTATUSCODES\r\n" +
				"250-STARTTLS\r\n" +
				"250-X-ANONYMOUSTLS\r\n" +
				"250-AUTH NTLM\r\n" +
				"250-X-EXPS GSSAPI NTLM\r\n" +
				"250-8BITMIME\r\n" +
				"250-BINARYMIME\r\n" +
				"250-CHUNKING\r\n" +
				"250 XRDST\r\n",
			domain: "EX01.corp.example.com",
			ext: Extensions{
				"SIZE": "37748736", "PIPELINING": "", "DSN": "", "ENHANCEDSTATUSCODES": "",
				"STARTTLS": "", "X-ANONYMOUSTLS": "", "AUTH": "NTLM", "X-EXPS": "GSSAPI NTLM",
				"8BITMIME": "", "BINARYMIME": "", "CHUNKING": "", "XRDST": "",
			},
			auth: []string{"NTLM"},
			names: []string{
				"8BITMIME", "AUTH", "BINARYMIME", "CHUNKING", "DSN", "ENHANCEDSTATUSCODES",
				"PIPELINING", "SIZE", "STARTTLS", "X-ANONYMOUSTLS", "X-EXPS", "XRDST",
			},
		},
		{
			name: "Gmail, STARTTLS as the last line",
			raw: "250-smtp.gmail.com at your service, [192.0.2.7]\r\n" +
				"250-SIZE 35882577\r\n" +
				"250-8BITMIME\r\n" +
				"250-ENHANCEDSTATUSCODES\r\n" +
				"250-PIPELINING\r\n" +
				"250-CHUNKING\r\n" +
				"250-SMTPUTF8\r\n" +
				"250 STARTTLS\r\n",
			domain: "smtp.gmail.com",
			ext: Extensions{
				"SIZE": "35882577", "8BITMIME": "", "ENHANCEDSTATUSCODES": "",
				"PIPELINING": "", "CHUNKING": "", "SMTPUTF8": "", "STARTTLS": "",
			},
			names: []string{"8BITMIME", "CHUNKING", "ENHANCEDSTATUSCODES", "PIPELINING", "SIZE", "SMTPUTF8", "STARTTLS"},
		},
		{
			name:   "lower-case keywords keyed upper-case, parameters as sent",
			raw:    "250-mail.example.net\r\n250-starttls\r\n250-Size 1000\r\n250 auth login Plain\r\n",
			domain: "mail.example.net",
			ext:    Extensions{"STARTTLS": "", "SIZE": "1000", "AUTH": "login Plain"},
			auth:   []string{"LOGIN", "PLAIN"},
			names:  []string{"AUTH", "SIZE", "STARTTLS"},
		},
		{
			name:   "legacy AUTH= merged with AUTH",
			raw:    "250-mx\r\n250-AUTH=LOGIN PLAIN\r\n250 AUTH PLAIN CRAM-MD5\r\n",
			domain: "mx",
			ext:    Extensions{"AUTH": "LOGIN PLAIN PLAIN CRAM-MD5"},
			auth:   []string{"LOGIN", "PLAIN", "CRAM-MD5"},
			names:  []string{"AUTH"},
		},
		{
			name:   "AUTH then legacy lower-case auth=",
			raw:    "250-mx\r\n250-AUTH PLAIN CRAM-MD5\r\n250 auth=login plain\r\n",
			domain: "mx",
			ext:    Extensions{"AUTH": "PLAIN CRAM-MD5 login plain"},
			auth:   []string{"PLAIN", "CRAM-MD5", "LOGIN"},
			names:  []string{"AUTH"},
		},
		{
			name:   "AUTH= with stray whitespace",
			raw:    "250-mx\r\n250-  AUTH=LOGIN  PLAIN \r\n250 AUTH= \r\n",
			domain: "mx",
			ext:    Extensions{"AUTH": "LOGIN  PLAIN"},
			auth:   []string{"LOGIN", "PLAIN"},
			names:  []string{"AUTH"},
		},
		{
			name:   "AUTH without mechanisms",
			raw:    "250-mx\r\n250 AUTH\r\n",
			domain: "mx",
			ext:    Extensions{"AUTH": ""},
			names:  []string{"AUTH"},
		},
		{
			name:   "SIZE without a number",
			raw:    "250-mx\r\n250 SIZE\r\n",
			domain: "mx",
			ext:    Extensions{"SIZE": ""},
			names:  []string{"SIZE"},
		},
		{
			name:   "blank lines skipped",
			raw:    "250-mx\r\n250-\r\n250-   \r\n250 8BITMIME\r\n",
			domain: "mx",
			ext:    Extensions{"8BITMIME": ""},
			names:  []string{"8BITMIME"},
		},
		{
			name:   "domain only",
			raw:    "250 mx.example.org\r\n",
			domain: "mx.example.org",
			ext:    Extensions{},
			names:  []string{},
		},
		{
			name:   "no text at all",
			raw:    "250\r\n",
			domain: "",
			ext:    Extensions{},
			names:  []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			domain, ext := ParseEHLO(ehloReply(t, tt.raw))
			if domain != tt.domain {
				t.Errorf("domain = %q, want %q", domain, tt.domain)
			}
			if !maps.Equal(ext, tt.ext) {
				t.Errorf("extensions = %q\n      want %q", ext, tt.ext)
			}
			if got := ext.AuthMechanisms(); !slices.Equal(got, tt.auth) {
				t.Errorf("AuthMechanisms() = %q, want %q", got, tt.auth)
			}
			if got := ext.Names(); !slices.Equal(got, tt.names) {
				t.Errorf("Names() = %q, want %q", got, tt.names)
			}
		})
	}
}

func TestParseEHLONoLines(t *testing.T) {
	domain, ext := ParseEHLO(Reply{Code: 250})
	if domain != "" || ext == nil || len(ext) != 0 {
		t.Errorf("ParseEHLO(no lines) = %q, %q", domain, ext)
	}
	if ext.Has("AUTH") || ext.AuthMechanisms() != nil || len(ext.Names()) != 0 {
		t.Error("empty extensions report something")
	}
}

func TestExtensionsHas(t *testing.T) {
	_, ext := ParseEHLO(ehloReply(t, "250-mx\r\n250-starttls\r\n250 PIPELINING\r\n"))
	for _, kw := range []string{"STARTTLS", "starttls", "StartTLS", "pipelining"} {
		if !ext.Has(kw) {
			t.Errorf("Has(%q) = false", kw)
		}
	}
	for _, kw := range []string{"AUTH", "SIZE", "", "mx"} {
		if ext.Has(kw) {
			t.Errorf("Has(%q) = true", kw)
		}
	}
}

func TestExtensionsSize(t *testing.T) {
	tests := []struct {
		line string // "" for no SIZE line
		n    int64
		ok   bool
	}{
		{"SIZE 10240000", 10240000, true},
		{"size 52428800", 52428800, true},
		{"SIZE 0", 0, true}, // RFC 1870: no fixed limit
		{"SIZE", 0, false},
		{"SIZE ", 0, false},
		{"SIZE unlimited", 0, false},
		{"SIZE 1e6", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			raw := "250 mx\r\n"
			if tt.line != "" {
				raw = "250-mx\r\n250 " + tt.line + "\r\n"
			}
			_, ext := ParseEHLO(ehloReply(t, raw))
			n, ok := ext.Size()
			if n != tt.n || ok != tt.ok {
				t.Errorf("Size() = %d, %v; want %d, %v", n, ok, tt.n, tt.ok)
			}
		})
	}
	// Values that parse but are no size: only ok matters.
	for _, v := range []string{"-1", "99999999999999999999"} {
		if _, ok := (Extensions{"SIZE": v}).Size(); ok {
			t.Errorf("SIZE %s: ok = true", v)
		}
	}
}
