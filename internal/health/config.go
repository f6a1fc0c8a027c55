package health

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/boundedfile"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

// Name is the daemon's name and the section of the config file that holds
// its own options.
const Name = "smtpcheck-health"

// DefaultConfig is where the package installs the config file.
const DefaultConfig = "/etc/smtpcheck/health.ini"

// Seconds is a duration given as seconds ("30", "2.5") or with a unit
// ("1m"). A struct, so that a bad value is worded by UnmarshalFlag's
// error, not as a whole number wanted.
type Seconds struct{ time.Duration }

// UnmarshalFlag parses the value.
func (s *Seconds) UnmarshalFlag(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || !(f >= 0 && f <= 86400) {
			return fmt.Errorf("%q: want seconds (30, 2.5) or a duration (1m)", v)
		}
		d = time.Duration(f * float64(time.Second))
	}
	if d < 0 || d > 24*time.Hour {
		return fmt.Errorf("%q: want from 0 to 24 hours", v)
	}
	s.Duration = d
	return nil
}

// MarshalFlag shows the default in help.
func (s Seconds) MarshalFlag() (string, error) {
	return strconv.FormatFloat(s.Seconds(), 'f', -1, 64), nil
}

// Options are the daemon's flags. The same names, without dashes, may be
// given in the config file's [smtpcheck-health] section; the command line
// wins.
type Options struct {
	Config        string  `short:"f" long:"config" value-name:"FILE" default:"/etc/smtpcheck/health.ini" description:"The ini file: [smtpcheck-health] holds these options, every other section is a check profile"`
	Listen        string  `short:"l" long:"listen" value-name:"HOST:PORT" default:"127.0.0.1:9825" description:"Address to serve HTTP on (loopback unless you say otherwise; a change needs a restart)"`
	MaxAge        Seconds `long:"max-age" value-name:"SECONDS" default:"30" description:"Serve a check's result from the cache while it is younger than this; at most one probe per check per max-age"`
	Interval      Seconds `long:"interval" value-name:"SECONDS" default:"0" description:"Refresh every check in the background this often (0: only on request)"`
	WarningStatus int     `long:"warning-status" choice:"200" choice:"503" default:"200" description:"HTTP status for a WARNING result (OK is 200, CRITICAL and UNKNOWN 503)"`
	MaxChecks     int     `long:"max-checks" value-name:"N" default:"4" description:"Probes that may run at the same time"`
	MaxRequests   int     `long:"max-requests" value-name:"N" default:"64" description:"HTTP requests served at the same time; more get 503 at once"`
	Version       bool    `short:"V" long:"version" description:"Print the version and exit"`
}

// kind is a plugin a profile may name: one session per run, nothing sent
// or changed. delivery, security and load have no place behind a URL that
// anyone may poll.
type kind struct {
	name    string // the plugin's program name
	service string
	// build returns fresh options and the check run with them.
	build func() (plugin.Options, func(context.Context) *plugin.Result)
}

func kindOf[O plugin.Options](name, service string, newO func() O, check func(context.Context, O) *plugin.Result) kind {
	return kind{name, service, func() (plugin.Options, func(context.Context) *plugin.Result) {
		o := newO()
		return o, func(ctx context.Context) *plugin.Result { return check(ctx, o) }
	}}
}

var kinds = map[string]kind{
	"conn": kindOf(conncheck.Name, conncheck.Service, func() *conncheck.Options { return &conncheck.Options{} }, conncheck.Check),
	"tls":  kindOf(tlscheck.Name, tlscheck.Service, func() *tlscheck.Options { return &tlscheck.Options{} }, tlscheck.Check),
	"auth": kindOf(authcheck.Name, authcheck.Service, func() *authcheck.Options { return &authcheck.Options{} }, authcheck.Check),
}

// Profile keys that would make no sense for a check behind a URL.
var notInProfile = []string{"extra-opts", "output", "verbose", "version"}

// config is one reading of the config file with the command line.
type config struct {
	opts   Options
	checks []*check // in file order
}

// parseFlags fills o from the command line alone (for -h, -V and
// --config, which the file cannot give).
func parseFlags(o *Options, argv []string) (*flags.Parser, error) {
	p := flags.NewParser(o, flags.HelpFlag|flags.PassDoubleDash)
	p.Name = Name
	rest, err := p.ParseArgs(argv)
	if fe, ok := errors.AsType[*flags.Error](err); ok && fe.Type != flags.ErrHelp {
		err = errors.New(plugin.FlagMessage(p, err))
	}
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected argument %q", rest[0])
	}
	return p, err
}

// load reads the config file named by argv (or its default) under ctx:
// the daemon's section, then every profile, each parsed and validated by
// its plugin. Any error refuses the whole file.
func load(ctx context.Context, argv []string) (*config, error) {
	var first Options
	if _, err := parseFlags(&first, argv); err != nil {
		return nil, err
	}
	file := first.Config
	var mode fs.FileMode
	data, err := boundedfile.Read(ctx, "--config", file, boundedfile.MaxIni, func(fi fs.FileInfo) error {
		mode = fi.Mode()
		return nil
	})
	if err != nil {
		return nil, err
	}
	text := string(data)
	sections, err := plugin.IniSections(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c := &config{}
	p := flags.NewParser(&c.opts, flags.HelpFlag|flags.PassDoubleDash)
	own, _, err := plugin.SectionArgs(text, Name, Name, func(key string) bool {
		if len(key) == 1 {
			return p.FindOptionByShortName(rune(key[0])) != nil
		}
		return p.FindOptionByLongName(key) != nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: [%s] %w", file, Name, err)
	}
	if _, err := p.ParseArgs(append(own, argv...)); err != nil {
		return nil, fmt.Errorf("%s: [%s] %s", file, Name, plugin.FlagMessage(p, err))
	}
	if err := c.opts.validate(); err != nil {
		return nil, err
	}
	for _, sec := range sections {
		if sec == Name {
			continue
		}
		ch, err := profile(ctx, text, sec)
		if err == nil && ch.literalPass && mode&0o004 != 0 {
			err = fmt.Errorf("authpass is a password written in a file every user can read: chmod o-r %s (root:smtpcheck, mode 640), or use password-ref", file)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: profile [%s]: %w", file, sec, err)
		}
		c.checks = append(c.checks, ch)
	}
	if len(c.checks) == 0 {
		return nil, fmt.Errorf("%s: no check profile: add a section such as [mx] with plugin = conn and hostname = ...", file)
	}
	return c, nil
}

func (o *Options) validate() error {
	switch {
	case o.MaxAge.Duration < time.Second:
		return fmt.Errorf("--max-age must be at least 1 second: the cache is what keeps a flood of requests from flooding the mail server")
	case o.Interval.Duration != 0 && o.Interval.Duration < time.Second:
		return fmt.Errorf("--interval must be 0 (off) or at least 1 second")
	case o.MaxChecks < 1 || o.MaxChecks > 256:
		return fmt.Errorf("--max-checks must be from 1 to 256")
	case o.MaxRequests < 1 || o.MaxRequests > 65536:
		return fmt.Errorf("--max-requests must be from 1 to 65536")
	}
	return nil
}

// validName is a profile name that reads the same in a URL path, a JSON
// key and a Prometheus label.
func validName(s string) bool {
	return s != "" && len(s) <= 64 && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}

// profile reads one [section]: plugin = conn|tls|auth and that plugin's
// options, parsed and validated by the plugin itself.
func profile(ctx context.Context, text, sec string) (*check, error) {
	if !validName(sec) {
		return nil, fmt.Errorf("a profile name is up to 64 letters, digits, '.', '_' or '-': it becomes the URL /health/NAME")
	}
	// First the plugin it names; every key is taken here, only that one read.
	all, _, err := plugin.SectionArgs(text, sec, "a profile", func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	kindName := ""
	for _, a := range all {
		if v, ok := strings.CutPrefix(a, "--plugin="); ok {
			kindName = v
		}
	}
	kindName = strings.TrimPrefix(kindName, "check_smtp_")
	k, ok := kinds[kindName]
	if !ok {
		if kindName == "" {
			return nil, fmt.Errorf("no plugin: add plugin = conn, tls or auth")
		}
		return nil, fmt.Errorf("plugin = %s: a profile runs conn, tls or auth (one session that sends nothing); run delivery, security and load from your monitoring engine", kindName)
	}
	opts, run := k.build()
	isOpt := plugin.IsOptionOf(k.name, opts)
	args, _, err := plugin.SectionArgs(text, sec, k.name, func(key string) bool { return key == "plugin" || isOpt(key) })
	if err != nil {
		return nil, err
	}
	args = slices.DeleteFunc(args, func(a string) bool { return strings.HasPrefix(a, "--plugin=") })
	if err := plugin.ParseProfile(k.name, args, opts); err != nil {
		return nil, err
	}
	for _, long := range notInProfile {
		if opts.Base().Given(long) {
			return nil, fmt.Errorf("%s has no place in a profile: the endpoint answers in JSON, without transcripts", long)
		}
	}
	if v, ok := opts.(plugin.Validator); ok {
		if err := v.Validate(ctx); err != nil {
			return nil, err
		}
	}
	if rest := opts.Base().Args; len(rest) > 0 {
		return nil, fmt.Errorf("unexpected argument %q", rest[0])
	}
	return &check{
		name: sec, plugin: kindName, service: k.service, literalPass: opts.Base().Given("authpass"),
		timeout: opts.Base().Timeout, run: run,
		key: kindName + "\x00" + strings.Join(args, "\x00"),
	}, nil
}
