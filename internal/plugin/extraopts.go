package plugin

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
)

// defaultIniFiles are searched, in order, when --extra-opts names no file;
// the list monitoring-plugins' parse_ini.c uses.
var defaultIniFiles = []string{
	"/usr/local/etc/monitoring-plugins/monitoring-plugins.ini",
	"/usr/local/etc/monitoring-plugins.ini",
	"/etc/monitoring-plugins/monitoring-plugins.ini",
	"/etc/monitoring-plugins.ini",
	"/etc/nagios/plugins.ini",
	"/usr/local/nagios/etc/plugins.ini",
	"/usr/local/etc/nagios/plugins.ini",
	"/etc/opt/nagios/plugins.ini",
	"/etc/nagios-plugins.ini",
	"/usr/local/etc/nagios-plugins.ini",
	"/etc/opt/nagios-plugins.ini",
}

// DefaultIniFiles are the files a bare --extra-opts searches after
// $MP_CONFIG_FILE and $NAGIOS_CONFIG_PATH, for the man pages.
func DefaultIniFiles() []string { return slices.Clone(defaultIniFiles) }

// expandExtraOpts replaces --extra-opts[=section][@file] with the options
// the ini section holds, placed first so that the command line wins. p is
// the plugin's parser: its name is the default section, and what is not one
// of its options is refused here, where the ini line is known.
func expandExtraOpts(ctx context.Context, p *flags.Parser, args []string) ([]string, error) {
	type extra struct{ spec, next string } // next: the argument after a bare --extra-opts
	var specs []extra
	var rest []string
	for i, a := range args {
		if a == "--" {
			rest = append(rest, args[i:]...)
			break
		}
		switch {
		case a == "--extra-opts":
			e := extra{}
			if i+1 < len(args) && args[i+1] != "" && !strings.HasPrefix(args[i+1], "-") {
				e.next = args[i+1]
			}
			// SECTION@FILE or @FILE can only be meant for --extra-opts,
			// whose optional value must be joined with "=" (as with
			// monitoring-plugins); apart, it would be a positional argument.
			if strings.Contains(e.next, "@") {
				return nil, fmt.Errorf("--extra-opts takes its value with '=': write --extra-opts=%s, not --extra-opts %s", e.next, e.next)
			}
			specs = append(specs, e)
		case strings.HasPrefix(a, "--extra-opts="):
			specs = append(specs, extra{spec: strings.TrimPrefix(a, "--extra-opts=")})
		default:
			rest = append(rest, a)
		}
	}
	var out []string
	for _, e := range specs {
		opts, err := loadExtraOpts(ctx, p, e.spec)
		if _, missing := errors.AsType[missingIni](err); missing && e.next != "" {
			// A lone word may be a section name or a positional host:
			// the hint is given only when the bare --extra-opts found
			// nothing to read.
			return nil, fmt.Errorf("%w; if %q is the section to read, write --extra-opts=%s (--extra-opts takes its value with '=')", err, e.next, e.next)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, opts...)
	}
	return append(out, rest...), nil
}

func loadExtraOpts(ctx context.Context, p *flags.Parser, spec string) ([]string, error) {
	section, file, hasFile := strings.Cut(spec, "@")
	if section == "" {
		section = p.Name
	}
	var from string // the variable that named the file, if one did
	if !hasFile || file == "" {
		file, from = findIni()
		if file == "" {
			return nil, missingIni(fmt.Sprintf("--extra-opts: no ini file found (looked in $MP_CONFIG_FILE, $NAGIOS_CONFIG_PATH and %s)", strings.Join(defaultIniFiles, ", ")))
		}
	}
	data, err := boundedfile.Read(ctx, "--extra-opts", file, boundedfile.MaxIni, nil)
	if be, ok := errors.AsType[*boundedfile.Error](err); ok && from != "" {
		return nil, fmt.Errorf("--extra-opts: %s (from %s): %s", be.Path, from, be.Msg)
	}
	if err != nil {
		return nil, fmt.Errorf("--extra-opts: %w", err)
	}
	isOption := func(key string) bool {
		if len(key) == 1 {
			return p.FindOptionByShortName(rune(key[0])) != nil
		}
		return p.FindOptionByLongName(key) != nil
	}
	opts, found, err := parseIniSection(string(data), section, p.Name, isOption)
	if err != nil {
		return nil, fmt.Errorf("--extra-opts: %s: %w", file, err)
	}
	if !found {
		return nil, missingIni(fmt.Sprintf("--extra-opts: section [%s] not found in %s", section, file))
	}
	return opts, nil
}

// missingIni is --extra-opts finding no ini file or no section to read.
type missingIni string

func (m missingIni) Error() string { return string(m) }

// findIni returns the first ini file that exists and the variable that
// named it ("" for the default list).
func findIni() (file, from string) {
	type cand struct{ file, from string }
	var cands []cand
	if f := os.Getenv("MP_CONFIG_FILE"); f != "" {
		cands = append(cands, cand{f, "$MP_CONFIG_FILE"})
	}
	for _, dir := range filepath.SplitList(os.Getenv("NAGIOS_CONFIG_PATH")) {
		for _, n := range []string{"monitoring-plugins.ini", "plugins.ini", "nagios-plugins.ini"} {
			cands = append(cands, cand{filepath.Join(dir, n), "$NAGIOS_CONFIG_PATH"})
		}
	}
	for _, f := range defaultIniFiles {
		cands = append(cands, cand{f, ""})
	}
	for _, c := range cands {
		if _, err := os.Stat(c.file); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return c.file, c.from
		}
	}
	return "", ""
}

// parseIniSection turns "key = value" lines of one section into "--key=value"
// arguments ("-k" for one-letter keys); a key alone is a flag. A key that
// isOption refuses is an error naming the line of the plugin (name), and the
// key only when a value follows it: a line without "=" may be a password
// put on a line of its own. Lines may be as long as the file.
func parseIniSection(data, section, name string, isOption func(key string) bool) (opts []string, found bool, err error) {
	in := false
	n := 0
	for line := range strings.Lines(data) {
		n++
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				return nil, found, fmt.Errorf("line %d: unterminated section header", n)
			}
			in = strings.TrimSpace(line[1:end]) == section
			found = found || in
			continue
		}
		if !in {
			continue
		}
		key, val, hasVal := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		switch {
		case key == "":
			return nil, found, fmt.Errorf("line %d: option without a name", n)
		case !isOption(key) && hasVal:
			return nil, found, fmt.Errorf("line %d: %s is not an option of %s", n, key, name)
		case !isOption(key):
			return nil, found, fmt.Errorf("line %d: not an option of %s (its text is not shown: it may be a secret); write options as name or name = value", n, name)
		}
		dash := "--"
		if len(key) == 1 {
			dash = "-"
		}
		if !hasVal {
			opts = append(opts, dash+key)
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		if dash == "-" {
			opts = append(opts, dash+key, val)
		} else {
			opts = append(opts, dash+key+"="+val)
		}
	}
	return opts, found, nil
}
