package plugin

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int
		noun string
		want string
	}{
		{1, "day", "1 day"},
		{-1, "day", "-1 day"},
		{0, "day", "0 days"},
		{2, "round trip", "2 round trips"},
		{1, "search", "1 search"},
		{3, "search", "3 searches"},
		{2, "pass", "2 passes"},
		{2, "mailbox", "2 mailboxes"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
