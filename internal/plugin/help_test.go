package plugin

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// helpOpts has what the help writer must handle: embedded groups, a
// plugin's own option joining an embedded group's section (-p with -H), an
// own section, choices, a default, a hidden option and a long option name
// whose description go-flags would have squeezed into a narrow column.
type helpOpts struct {
	Common `group:"Output and run"`
	Server `group:"Connection"`

	Port   int    `short:"p" long:"port" value-name:"PORT" section:"Connection" description:"TCP port (default: 587)"`
	Mech   string `short:"m" long:"mech" default:"auto" value-name:"MECH" section:"AUTH" description:"SASL mechanism: auto, SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER"`
	Secret string `long:"oauth-client-secret-ref" value-name:"REF" section:"AUTH" description:"OAuth client secret reference"`
	Warn   string `short:"w" long:"warning" value-name:"RANGE" section:"Thresholds" description:"AUTH time that gives WARNING"`
	Mode   string `long:"mode" choice:"one" choice:"two" value-name:"MODE" section:"AUTH" description:"A mode"`
	Old    bool   `long:"old" hidden:"yes" description:"Not shown"`
}

func (*helpOpts) Examples() []Example {
	return []Example{
		{Command: "check_x -H smtp.example.org --user monitor@example.org --password-ref file:/etc/smtpcheck/monitor.pass", Checks: "Log in over STARTTLS on port 587 with the strongest mechanism offered."},
		{Command: "check_x -H smtp.example.org", Checks: "Short."},
	}
}

const wantHelp = `Usage:
  check_x [OPTIONS]

Connection:
  -H, --hostname=HOST
        Host name or IP address to check (default: localhost)
  -4, --use-ipv4
        Connect over IPv4 only
  -6, --use-ipv6
        Connect over IPv6 only
  -F, --fqdn=NAME
        Name sent with EHLO, HELO or LHLO (default: this host's name)
  -p, --port=PORT
        TCP port (default: 587)

AUTH:
  -m, --mech=MECH
        SASL mechanism: auto, SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5, PLAIN,
        LOGIN, XOAUTH2, OAUTHBEARER (default: auto)
  --oauth-client-secret-ref=REF
        OAuth client secret reference
  --mode=one|two
        A mode

Thresholds:
  -w, --warning=RANGE
        AUTH time that gives WARNING

Output and run:
  -t, --timeout=SECONDS[:STATE]
        End the check after SECONDS with STATE, CRITICAL unless :STATE is given
        (default: 10)
  -v, --verbose
        More detail; -v adds the SMTP transcript (secrets redacted), -vv its
        timings
  --output=text|json
        Output format: Nagios text or one JSON object (same exit code)
        (default: text)
  --extra-opts[=[SECTION][@FILE]]
        Read options from an ini file, as monitoring-plugins does: SECTION is
        the plugin's name unless given, FILE is searched for unless given (see
        the man page); the value needs '=': --extra-opts=SECTION@FILE
  -V, --version
        Print the version and exit
  -h, --help
        Show this help message

Examples:
  check_x -H smtp.example.org --user monitor@example.org \
      --password-ref file:/etc/smtpcheck/monitor.pass
        Log in over STARTTLS on port 587 with the strongest mechanism offered.

  check_x -H smtp.example.org
        Short.
`

// TestHelp: the whole --help text, by section, each description wrapped
// below its option, values named once, the default once, the examples'
// commands continued as a shell takes them.
func TestHelp(t *testing.T) {
	_, got, err := Parse(context.Background(), "check_x", []string{"--help"}, &helpOpts{})
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if got != wantHelp {
		t.Errorf("--help:\n%s\nwant:\n%s", got, wantHelp)
	}
}

// TestHelpNarrow: on a narrow terminal no line is wider than it, words stay
// whole, and a word longer than a line gets a line of its own.
func TestHelpNarrow(t *testing.T) {
	var b strings.Builder
	wrap(&b, strings.Fields("a SCRAM-SHA-256 b https://mta-sts.example.org/.well-known/mta-sts.txt c"), "    ", 20)
	want := "    a SCRAM-SHA-256\n    b\n    https://mta-sts.example.org/.well-known/mta-sts.txt\n    c\n"
	if b.String() != want {
		t.Errorf("wrap:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	writeCommand(&b, "check_x -H a.example --user u --password-ref env:P", 30)
	want = "  check_x -H a.example \\\n      --user u \\\n      --password-ref env:P\n"
	if b.String() != want {
		t.Errorf("writeCommand:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestFitWidth(t *testing.T) {
	for _, c := range []struct {
		cols   int
		term   bool
		expect int
	}{{0, false, 80}, {200, true, 80}, {80, true, 80}, {60, true, 60}, {10, true, minHelpWidth}} {
		if got := fitWidth(c.cols, c.term); got != c.expect {
			t.Errorf("fitWidth(%d, %v) = %d, want %d", c.cols, c.term, got, c.expect)
		}
	}
}
