package plugin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExtraOptsDetachedValue: a value given apart from --extra-opts is not
// taken for a positional argument silently; the error says to join it
// with '='. A lone word is a hint only when nothing was found to read: it
// may be the positional host.
func TestExtraOptsDetachedValue(t *testing.T) {
	file := filepath.Join(t.TempDir(), "plugins.ini")
	if err := os.WriteFile(file, []byte("[other]\nport=25\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MP_CONFIG_FILE", file)
	t.Setenv("NAGIOS_CONFIG_PATH", "")
	withDefault := filepath.Join(t.TempDir(), "plugins.ini")
	if err := os.WriteFile(withDefault, []byte("[check_x]\nport=26\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		env  string // MP_CONFIG_FILE, if not file
		want string // the error, or the expanded arguments
	}{
		{[]string{"--extra-opts", "sec@" + file}, "",
			"--extra-opts takes its value with '=': write --extra-opts=sec@" + file + ", not --extra-opts sec@" + file},
		{[]string{"-p", "1", "--extra-opts", "@" + file}, "",
			"--extra-opts takes its value with '=': write --extra-opts=@" + file + ", not --extra-opts @" + file},
		{[]string{"--extra-opts", "other"}, "",
			"--extra-opts: section [check_x] not found in " + file + `; if "other" is the section to read, write --extra-opts=other (--extra-opts takes its value with '=')`},
		// Found and read: the word stays a positional argument.
		{[]string{"--extra-opts", "mx.example.org"}, withDefault, "--port=26 mx.example.org"},
		// Followed by an option, or joined: no hint.
		{[]string{"--extra-opts", "-p", "1"}, "", "--extra-opts: section [check_x] not found in " + file},
		{[]string{"--extra-opts=other", "x@y"}, "", "--port=25 x@y"},
	} {
		if c.env != "" {
			t.Setenv("MP_CONFIG_FILE", c.env)
		}
		args, err := expandExtraOpts(context.Background(), NewParser("check_x", &iniOpts{}), c.args)
		got := strings.Join(args, " ")
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%q:\ngot  %s\nwant %s", c.args, got, c.want)
		}
		t.Setenv("MP_CONFIG_FILE", file)
	}
}
