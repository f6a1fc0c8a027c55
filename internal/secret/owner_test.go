//go:build unix

package secret_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// TestFileNotOursKeepsItsMode: a secret file that another user owns, or
// that is shared with a group (/etc/shadow), is refused with the advice to
// give the secret a file of its own, never to chmod it (others need it).
func TestFileNotOursKeepsItsMode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give a file to another user or group")
	}
	const pw = "Owner-Test-Pw-1"
	own := ": leave it as it is and put the secret in a file of its own that only uid 0, which runs the plugin, can read (mode 600)"
	for _, tc := range []struct {
		uid, gid int
		mode     os.FileMode
		want     string
	}{
		{65534, 65534, 0o644, "mode 0644 lets group or others read or write it, and it belongs to uid 65534" + own},
		{65534, 0, 0o600 | 0o040, "mode 0640 lets group or others read or write it, and it belongs to uid 65534" + own},
		{0, 65534, 0o640, "mode 0640 lets group 65534 read or write it, a group it is shared with" + own},
		{0, 65534, 0o660, "mode 0660 lets group 65534 read or write it, a group it is shared with" + own},
		// Ours, and only our own group or others: the mode is the fault.
		{0, 0, 0o640, "mode 0640 lets group or others read or write it; run: chmod 600 "},
		{0, 65534, 0o644, "mode 0644 lets group or others read or write it; run: chmod 600 "},
	} {
		p := secrettest.WriteFile(t, "pw", pw+"\n", tc.mode)
		if err := os.Chown(p, tc.uid, tc.gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, err := (&secret.Options{}).Resolve(secrettest.Ctx(t), "file:"+p)
		want := "file: " + p + ": " + tc.want
		if tc.want[len(tc.want)-1] == ' ' {
			want += p
		}
		secrettest.CheckErr(t, err, want, pw)
		if err != nil && err.Error() != want {
			t.Errorf("owner %d:%d mode %o:\n got %q\nwant %q", tc.uid, tc.gid, tc.mode, err.Error(), want)
		}
	}
}

// TestFileWeMayNotRead: permission denied names the user and what to do.
func TestFileWeMayNotRead(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	p := secrettest.WriteFile(t, "pw", "Owner-Test-Pw-2\n", 0)
	_, err := (&secret.Options{}).Resolve(secrettest.Ctx(t), "file:"+p)
	uid := strconv.Itoa(os.Geteuid())
	want := "file: " + p + ": permission denied (running as uid " + uid + "): put the secret in a file of its own that only uid " + uid + ", which runs the plugin, can read (mode 600)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
