//go:build unix

package secret

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// ownGroup starts cmd as the leader of a session, and so of a process
// group, of its own, killed whole when cmd's context ends. It returns that
// kill, for what is left of the group after cmd has exited. A session, not
// just a group (Setpgid): a background group of our session that touches
// the terminal (gpg's pinentry) is stopped by SIGTTOU/SIGTTIN until -t;
// in a session without a terminal it fails at once instead.
func ownGroup(cmd *exec.Cmd) (kill func() error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != syscall.ESRCH {
			return err
		}
		return os.ErrProcessDone
	}
	return cmd.Cancel
}

// trusted refuses a helper that a user other than root or the one this
// plugin runs as could replace: it gets the plugin's environment
// (VAULT_TOKEN, env: secrets) and answers with its credentials. As for
// password files, the helper must be owned by root or that user and not
// be writable by group or others; so must every directory above it, which
// could swap it for another program. A sticky directory (/tmp) may be
// writable by all: nobody can replace another user's entry in it.
func trusted(path string) error {
	what := "helper"
	for p := path; ; p = filepath.Dir(p) {
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("cannot check %s %s: %v", what, p, err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("cannot check the owner of %s %s", what, p)
		}
		mode := fi.Mode()
		switch euid := os.Geteuid(); {
		case st.Uid != 0 && int(st.Uid) != euid:
			return fmt.Errorf("%s %s is owned by uid %d (mode %04o), not by root or by uid %d, the plugin's user, so the helper is not run: run chown root %s", what, p, st.Uid, mode.Perm(), euid, p)
		case mode.Perm()&0o022 != 0 && !(mode.IsDir() && mode&os.ModeSticky != 0):
			return fmt.Errorf("%s %s is writable by group or others (owner uid %d, mode %04o), so the helper is not run: run chmod go-w %s", what, p, st.Uid, mode.Perm(), p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
		what = "directory"
	}
}
