package imapbox

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
)

type notes struct {
	mu    sync.Mutex
	lines []string
}

func (n *notes) Note(s string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lines = append(n.lines, s)
}

// TestTranscript: with a Transcript, every line of the session is kept,
// the credentials redacted, whichever way they travel (SASL PLAIN, or the
// LOGIN command's quoted string with its escapes).
func TestTranscript(t *testing.T) {
	ts := newServer(t, serverOpts{mode: probe.TLSImplicit})
	for _, mech := range []string{"", LoginCommand} {
		ctx := testCtx(t, 10*time.Second)
		n := &notes{}
		b, err := Dial(ctx, Config{Target: ts.target(t, probe.TLSImplicit), Redact: &redact.Set{}, Transcript: n})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Login(ctx, sasl.Credentials{User: testUser, Password: testPass}, mech, false); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		all := strings.Join(n.lines, "\n")
		want := "imap: T1 AUTHENTICATE PLAIN " + redact.Redacted
		if mech == LoginCommand {
			want = `imap: T1 LOGIN "` + testUser + `" "` + redact.Redacted + `"`
		}
		if !strings.Contains(all, want) || !strings.Contains(all, "imap: T2 LOGOUT") || strings.Contains(all, testPass) {
			t.Errorf("%q: transcript lacks %q or shows the password:\n%s", mech, want, all)
		}
	}
}
