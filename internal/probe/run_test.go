package probe_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// heard records every command line a script read, to prove what was sent.
type heard struct{ lines chan string }

func (h heard) serve(c *smtptest.FaultConn, answer func(line string) (reply string, stop bool)) {
	for {
		line, err := c.ReadLine()
		if err != nil {
			close(h.lines)
			return
		}
		h.lines <- line
		reply, stop := answer(line)
		if reply != "" {
			_ = c.Send(reply)
		}
		if stop {
			close(h.lines)
			return
		}
	}
}

func (h heard) all() string {
	var got []string
	for l := range h.lines {
		got = append(got, l)
	}
	return strings.Join(got, "|")
}

// TestRunQuitPoliteness runs the kit's plan variants against one scripted
// server and compares what the server heard and what the outcome says.
func TestRunQuitPoliteness(t *testing.T) {
	cases := []struct {
		name     string
		plan     func(*probe.Plan)
		ehloExts []string
		answer   func(line string) (string, bool)
		heard    string
		err      string // the outcome's error, "" for none
		quitErr  string
	}{
		{"steps then QUIT", func(p *probe.Plan) {
			p.Steps = func(ctx context.Context, s *probe.Session) error {
				_, err := s.Cmd(ctx, probe.PhaseMail, "MAIL FROM:<>")
				return err
			}
		}, nil, okAll, "EHLO probe.test|MAIL FROM:<>|QUIT", "", ""},
		{"a negative reply ends the session with a QUIT not waited for", nil, nil,
			func(line string) (string, bool) {
				if strings.HasPrefix(line, "EHLO") || strings.HasPrefix(line, "HELO") {
					return "554 5.7.1 go away", false
				}
				return "", strings.HasPrefix(line, "QUIT")
			}, "EHLO probe.test|HELO probe.test|QUIT", "ehlo: 554 5.7.1 go away", ""},
		{"HangUp: no QUIT", func(p *probe.Plan) {
			p.Steps = func(ctx context.Context, s *probe.Session) error {
				s.HangUp()
				return nil
			}
		}, nil, okAll, "EHLO probe.test", "", ""},
		{"RequireTLS without STARTTLS offered", func(p *probe.Plan) {
			p.Target.TLS, p.RequireTLS = probe.TLSStartTLS, true
		}, nil, okAll, "EHLO probe.test|QUIT", "starttls: server does not offer STARTTLS", ""},
		{"STARTTLS not offered, not required: the steps go on in plaintext", func(p *probe.Plan) {
			p.Target.TLS = probe.TLSStartTLS
			p.Steps = func(ctx context.Context, s *probe.Session) error {
				if !s.NoStartTLS {
					t.Error("NoStartTLS not set")
				}
				return nil
			}
		}, nil, okAll, "EHLO probe.test|QUIT", "", ""},
		{"BannerOnly", func(p *probe.Plan) { p.BannerOnly = true }, nil, okAll, "QUIT", "", ""},
		{"a QUIT answered 250 is a QUIT error", nil, nil, func(line string) (string, bool) {
			if line == "QUIT" {
				return "250 2.0.0 ok", true
			}
			return "250 ok", false
		}, "EHLO probe.test|QUIT", "", `quit: invalid response "250 2.0.0 ok" to QUIT: expected 221`},
		{"421 to a step: no QUIT, the server is closing", func(p *probe.Plan) {
			p.Steps = func(ctx context.Context, s *probe.Session) error {
				rep, err := s.Cmd(ctx, probe.PhaseMail, "MAIL FROM:<>")
				if err == nil {
					err = &probe.Error{Phase: probe.PhaseMail, Kind: probe.KindReply, Reply: &rep, Err: errors.New(rep.String())}
				}
				return err
			}
		}, nil, func(line string) (string, bool) {
			if strings.HasPrefix(line, "MAIL") {
				return "421 4.3.2 closing", false
			}
			return "250 ok", strings.HasPrefix(line, "QUIT")
		}, "EHLO probe.test|MAIL FROM:<>", "mail: 421 4.3.2 closing", ""},
		{"NoWaitQuit: the reply to QUIT is not judged", func(p *probe.Plan) { p.NoWaitQuit = true }, nil,
			func(line string) (string, bool) { return "250 ok", line == "QUIT" }, "EHLO probe.test|QUIT", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := heard{lines: make(chan string, 16)}
			srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
				_ = c.Greet()
				h.serve(c, tc.answer)
			})
			defer srv.Close()
			ap := netip.MustParseAddrPort(srv.Addr)
			p := probe.Plan{Target: probe.Target{Host: "127.0.0.1", Port: int(ap.Port()), HeloName: "probe.test"}}
			if tc.plan != nil {
				tc.plan(&p)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			out := probe.Run(ctx, p)
			if out.S == nil || out.Total <= 0 {
				t.Fatalf("outcome without session or total: %+v", out)
			}
			// The script ends when the client closes the connection.
			if got := h.all(); got != tc.heard {
				t.Errorf("server heard %q, want %q", got, tc.heard)
			}
			if got := errText(out.Err); got != tc.err {
				t.Errorf("err = %q, want %q", got, tc.err)
			}
			if got := errText(out.QuitErr); got != tc.quitErr {
				t.Errorf("quit err = %q, want %q", got, tc.quitErr)
			}
		})
	}
}

func okAll(line string) (string, bool) {
	if line == "QUIT" {
		return "221 2.0.0 bye", true
	}
	return "250 ok", false
}

func errText(e *probe.Error) string {
	if e == nil {
		return ""
	}
	return e.Error()
}

// TestRunGreetingRefused: RFC 5321 §3.1 has a server that greets with 554
// wait for QUIT, which Run sends without waiting; a 421 greeting closes.
func TestRunGreetingRefused(t *testing.T) {
	for greeting, want := range map[string]string{
		"554 5.7.1 no service for you": "QUIT",
		"421 4.3.2 busy, closing":      "",
	} {
		h := heard{lines: make(chan string, 4)}
		srv := smtptest.MustStartFault(t, func(c *smtptest.FaultConn) {
			_ = c.Send(greeting)
			h.serve(c, func(string) (string, bool) { return "", true })
		})
		ap := netip.MustParseAddrPort(srv.Addr)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out := probe.Run(ctx, probe.Plan{Target: probe.Target{Host: "127.0.0.1", Port: int(ap.Port()), HeloName: "probe.test"}})
		cancel()
		if got := h.all(); got != want {
			t.Errorf("greeting %q: server heard %q, want %q", greeting, got, want)
		}
		if out.Err == nil || out.Err.Phase != probe.PhaseBanner {
			t.Errorf("greeting %q: err %v, want a banner error", greeting, out.Err)
		}
	}
}
