// Command gen writes, from the plugins' go-flags option definitions, the
// files that describe the plugins to people and to monitoring engines:
//
//	packaging/man/<plugin>.1                 man page (go-flags WriteManPage)
//	packaging/man/smtpcheck-secret.1         the helper's page (it has no flags)
//	packaging/man/smtpcheck-secret-cloud.1   the page of the helper's helper
//	packaging/man/smtpcheck-health.1         the daemon's page (packaging/gen/daemon.go)
//	contrib/icinga2/smtpcheck-commands.conf  Icinga 2 CheckCommand per plugin
//	contrib/nagios/<plugin>.cfg              Nagios command definitions
//	contrib/zabbix/userparameter_smtpcheck.conf
//	contrib/zabbix/template_smtpcheck.yaml   Zabbix 6.0 template
//
// Run it from the repository root: `go run ./packaging/gen` (or with -root).
// The output is committed; gen_test.go fails when it drifts from the option
// structs. A new plugin needs one entry in the plugins list below.
package main

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/deliverycheck"
	"github.com/smtpcheck/smtpcheck/internal/health"
	"github.com/smtpcheck/smtpcheck/internal/loadcheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/securitycheck"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

// nagiosArgNames name the $ARGn$ of the common Nagios command in its usage line.
var nagiosArgNames = map[string]string{"port": "PORT", "warning": "WARNING", "critical": "CRITICAL", "user": "USER", "password-ref": "SECRET_REF"}

// A pluginDef is one plugin as the generator sees it.
type pluginDef struct {
	name  string         // binary name, e.g. check_smtp_conn
	opts  plugin.Options // a zero option struct
	short string         // one line: man NAME section, Icinga/Nagios comments
	long  string         // man DESCRIPTION section
	// zabbix: perfdata labels worth their own dependent item (label, unit).
	zabbixPerf [][2]string
	// zabbixArgs: default extra arguments for the Zabbix template macro.
	zabbixArgs string
}

// plugins is the list every generated file is built from. Add new plugins here.
var plugins = []pluginDef{
	{conncheck.Name, &conncheck.Options{},
		"check that an SMTP server answers and behaves",
		"check_smtp_conn connects to an SMTP (or LMTP) server, reads the banner, sends EHLO, optionally upgrades with STARTTLS or speaks implicit TLS, optionally authenticates and sends MAIL FROM/RCPT TO, and times every phase. It accepts the flags of monitoring-plugins' check_smtp, so existing command definitions keep working.",
		[][2]string{{"total", "s"}}, "--starttls"},
	{tlscheck.Name, &tlscheck.Options{},
		"check the TLS certificate chain and protocol of an SMTP server",
		"check_smtp_tls runs one TLS session against an SMTP server (STARTTLS, or implicit TLS on port 465) and judges the certificate chain (trust, names, days left for every element), keys and signature algorithms, the negotiated TLS version and OCSP stapling. With --scan-versions it tries each TLS version in turn.",
		[][2]string{{"chain_min_days", ""}}, ""},
	{authcheck.Name, &authcheck.Options{},
		"check that an SMTP submission service accepts a login",
		"check_smtp_auth logs in to an SMTP submission service (STARTTLS on 587 by default, implicit TLS on 465) with a SASL mechanism (SCRAM, CRAM-MD5, PLAIN, LOGIN, XOAUTH2, OAUTHBEARER; the strongest offered by default) and judges the outcome. Credentials are given as references (env:, file:, vault:, keyring:) or fetched with an OAuth 2 client-credentials grant; they are sent only over verified TLS unless the command line says otherwise and never appear in the output. vault: and keyring: references and the OAuth grant are handled by the helper program smtpcheck-secret, which must be installed in the same directory as check_smtp_auth.",
		[][2]string{{"auth", "s"}}, "--extra-opts"},
	{deliverycheck.Name, &deliverycheck.Options{},
		"check that mail submitted through an SMTP server arrives over IMAP, and how fast",
		"check_smtp_delivery submits a probe message through an SMTP server (STARTTLS on 587 by default, implicit TLS on 465, or an MX on 25 without AUTH), finds it over IMAP by its own header (IMAPS on 993 by default, STARTTLS on 143), in INBOX and then in the Junk folder, measures the delivery delay on its own clock (from the server's 250 to the message to the IMAP sighting), and deletes the probe again: only the UIDs of its own probes, never with a bare EXPUNGE. Probes sent but not yet seen are kept in a small state file (\\-\\-state\\-dir), so that one arriving during a later run is reported late rather than lost. Credentials are references (env:, file:, vault:, keyring:) resolved as check_smtp_auth resolves them, sent only over verified TLS, and never shown. The default \\-t of 50 s fits a real delivery and stays below the engines' own check timeouts (60 s in Nagios and Icinga 2).",
		[][2]string{{"delay", "s"}, {"submit", "s"}}, "--send-only"},
	{securitycheck.Name, &securitycheck.Options{},
		"audit what an SMTP server must refuse",
		"check_smtp_security asks an SMTP server to do what it must refuse and judges each refusal as a sub-check of its own: STARTTLS offered (mx) or required before MAIL (submission), no AUTH in clear text, no relay without AUTH (submission), not an open relay (mx: nmap's relay variants, RCPT only, with a random local control recipient that tells a catch-all from an open relay), VRFY and EXPN user enumeration, STARTTLS command injection (CVE\\-2011\\-0411 class), the software named in the banner (informational) and old TLS versions or RC4/3DES suites. \\-\\-role (mx, submission, submissions; by default from the port) decides which sub-checks run and how severe each is; \\-\\-only, \\-\\-skip and \\-\\-state change that. Each sub-check gives the server's exact replies as evidence and the Postfix and Exim settings that fix it; \\-\\-output json lists them all. Relay attempts send RCPT only and end with RSET; only the opt-in smuggling probe (\\-\\-smuggling\\-rcpt, a mailbox of yours) sends DATA, and it never sends a proper end of data, so a server that is not vulnerable delivers nothing. \\-\\-rate\\-probe opens up to N connections to see a rate limit. A client inside the server's trusted networks (Postfix mynetworks, Exim relay_from_hosts) may relay: run the audit from outside them.",
		[][2]string{{"failed", ""}, {"warned", ""}}, ""},
	{loadcheck.Name, &loadcheck.Options{},
		"measure how much mail an SMTP server takes, and where it breaks",
		"check_smtp_load sends many messages through an SMTP server, each session as the other plugins run it (connect, TLS, EHLO, AUTH, MAIL, RCPT, DATA with PIPELINING when offered): \\-\\-sessions N at once (closed loop), or \\-\\-rate R messages per second (open loop, with the latency of messages held back by a late reply counted in: coordinated omission corrected). It reports messages per second, accepted, rejected and failed counts, errors by class (dial, TLS, timeout, disconnect, 4xx, 5xx) and by phase and reply code, and p50/p90/p99/max of every phase from HDR histograms, failed attempts included; \\-\\-output json adds the histograms. A run is bounded: 1000 messages and 10 s unless \\-\\-messages or \\-\\-duration say otherwise, \\-t, a stop after \\-\\-max\\-connect\\-failures sessions in a row that could not be set up, and SIGINT or SIGTERM, which end it cleanly with a partial report. Recipients must be given (\\-\\-to): use a discard address, every message is delivered. It is a tool for capacity tests and pipelines, not a periodic check: no Zabbix item is generated.",
		[][2]string{{"rate", ""}, {"error_rate", "%"}}, ""},
}

// zabbixSkip are plugins without a Zabbix item, with the reason.
var zabbixSkip = map[string]string{
	loadcheck.Name: "a load test is run on purpose, not every few minutes by an agent",
}

// zabbixTimeouts are the plugins that need a timeout macro of their own:
// a delivery takes longer than one session, and the agent's Timeout (at
// most 30 s) bounds it.
var zabbixTimeouts = map[string][3]string{
	deliverycheck.Name: {"{$SMTPCHECK.DELIVERY.TIMEOUT}", "25", "check_smtp_delivery's timeout in seconds; keep below the agent's Timeout (at most 30)"},
}

// notExposed are the long flags the engine definitions leave out, with the
// reason; it is printed into the generated files.
var notExposed = []struct{ long, why string }{
	{"help", "prints the usage and exits 3: no check is run"},
	{"version", "prints the version and exits 3: no check is run"},
	{"output", "--output json replaces the status line and perfdata the engine parses (Zabbix uses it)"},
	{"tls", "alias of --ssl"},
	{"mail-from", "alias of --from"},
}

// noop are flags of one plugin that are aliases or accepted for
// compatibility only.
var noop = map[string]string{
	conncheck.Name + " --sni":      "accepted for check_smtp compatibility, does nothing (SNI is always sent)",
	authcheck.Name + " --sni":      "takes no value and does nothing (SNI is always sent; --sni-name sends another name)",
	tlscheck.Name + " --sni":       "takes no value and does nothing (SNI is always sent; --sni-name sends another name)",
	authcheck.Name + " --authtype": "check_smtp alias of --mech",
	authcheck.Name + " --authuser": "check_smtp alias of --user",
	deliverycheck.Name + " --sni":  "takes no value and does nothing (SNI is always sent; --sni-name sends another name)",
	securitycheck.Name + " --sni":  "takes no value and does nothing (SNI is always sent; --sni-name sends another name)",
}

func excluded(pl, long string) (string, bool) {
	if why, ok := noop[pl+" --"+long]; ok {
		return why, true
	}
	for _, n := range notExposed {
		if n.long == long {
			return n.why, true
		}
	}
	return "", false
}

// icingaEnv are environment variables a CheckCommand fills from a variable
// of its own (name, long flag whose value the variable then carries in words),
// for secrets kept in Icinga's config: --password-ref=env:NAME reads them.
var icingaEnv = map[string][][2]string{
	authcheck.Name:     {{"SMTPCHECK_PASSWORD", "password"}},
	deliverycheck.Name: {{"SMTPCHECK_PASSWORD", "password"}, {"SMTPCHECK_IMAP_PASSWORD", "imap-password"}},
}

// nagiosSNI are the plugins whose common Nagios command sends the host's
// custom variable _SNI as --sni-name: Nagios has no host name apart from
// $HOSTADDRESS$, and a certificate seldom carries an IP address. An unset
// _SNI expands to an empty --sni-name, which TLS plugins take as not given.
// check_smtp_conn is left out: it runs without TLS by default, and
// --sni-name without TLS is refused.
var nagiosSNI = map[string]bool{tlscheck.Name: true, authcheck.Name: true, deliverycheck.Name: true, securitycheck.Name: true}

// dnsName is the value of the --sni-name variables: the host's name when
// the plugin is pointed at an IP address and the name is a DNS name (a
// dot, not an address). Certificates name hosts and rarely carry an
// address, so a check of 192.0.2.25 verifies, and asks by SNI for, the
// certificate of mail.example.org; --verify-name follows the SNI name.
// Null (the flag left out) otherwise: a name in -H is sent and verified
// as it is.
const dnsName = `{{
		var target = macro("$%[2]s$")
		var name = macro("$host.name$")
		var ip = "^[0-9]+([.][0-9]+){3}$|:"
		if (typeof(target) == String && regex(ip, target) && regex("^[A-Za-z0-9_-]+([.][A-Za-z0-9_-]+)+[.]?$", name) && !regex(ip, name)) {
			return name
		}
		return null
	}}`

// pluginDirs are where each package installs the plugins: packaging/nfpm.yaml
// puts them there, gen_test.go checks that both agree. The committed files
// are Debian's; packaging/build.sh generates the RPM's with -packager rpm.
var pluginDirs = map[string]string{"deb": "/usr/lib/nagios/plugins", "rpm": "/usr/lib64/nagios/plugins"}

func main() {
	root := flag.String("root", ".", "repository root to write into")
	packager := flag.String("packager", "deb", "the package whose plugin directory the Zabbix UserParameters call: deb or rpm")
	flag.Parse()
	files, err := generateFor(*packager)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if err := write(*root, files); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, name := range sortedKeys(files) {
		fmt.Println("wrote", name)
	}
}

// write puts files under root.
func write(root string, files map[string][]byte) error {
	for _, name := range sortedKeys(files) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// generate returns every generated file by its path relative to the root,
// as committed: for the Debian package.
func generate() (map[string][]byte, error) { return generateFor("deb") }

// generateFor returns the files for a package (deb or rpm): they differ in
// the plugin directory the Zabbix UserParameters call.
func generateFor(packager string) (map[string][]byte, error) {
	pluginDir, ok := pluginDirs[packager]
	if !ok {
		return nil, fmt.Errorf("-packager %q: want deb or rpm", packager)
	}
	files := map[string][]byte{}
	var icinga, zbxUP bytes.Buffer
	icinga.WriteString(header("//", "Icinga 2 CheckCommands for the smtpcheck plugins.",
		`Installed by the packages as /usr/share/icinga2/include/plugins-contrib.d/smtpcheck.conf;`,
		`it is loaded with the ITL's plugins-contrib: include <plugins-contrib> in icinga2.conf.`,
		`Variables: <command>_<long_option_with_underscores>, e.g. vars.smtpcheck_conn_starttls = true.`,
		`Values are passed as --long=value, so negative ranges (-w -5:5) need no special care.`))
	zbxUP.WriteString(header("#", "Zabbix agent UserParameters for the smtpcheck plugins.",
		"Copy to /etc/zabbix/zabbix_agentd.conf.d/ (Debian; zabbix_agentd.d/ elsewhere) and restart the agent.",
		"Key parameters: [HOST, TIMEOUT, EXTRA ARGUMENTS], e.g. smtpcheck.conn[127.0.0.1,2,\"-p 587 --starttls\"].",
		"The plugin prints one JSON object (--output json) with state, exit_code, summary and perfdata;",
		"the template (template_smtpcheck.yaml) reads them with JSONPath dependent items.",
		"zabbix_agentd (6.0) ignores the exit code of a UserParameter and returns its output (it fails",
		"only on a timeout), so WARNING/CRITICAL/UNKNOWN results arrive as values, not as 'not supported'.",
		"TIMEOUT must stay below the agent's Timeout (default 3 s) or the agent kills the plugin.",
		"Extra arguments must not contain \\ ' \" ` * ? [ ] { } ~ $ ! & ; ( ) < > | # @ unless",
		"UnsafeUserParameters=1 (which lets whoever configures items run any command through $3).",
		"Values with such characters (a user name with @) belong in an ini section instead:",
		"--extra-opts=SECTION reads [SECTION] from /etc/monitoring-plugins.ini (monitoring-plugins'",
		"search path), e.g. [check_smtp_auth] user=monitor@example.org password-ref=file:/etc/zabbix/smtp.pass",
		"(plain --extra-opts reads the section named after the plugin)."))
	zbxUP.WriteString("\n")
	for i, pd := range plugins {
		p := plugin.NewParser(pd.name, pd.opts)
		p.ShortDescription = pd.short
		p.LongDescription = pd.long
		// go-flags adds its help group (-h) during a parse; an empty parse
		// also fills in the defaults the descriptions show.
		if _, err := p.ParseArgs(nil); err != nil {
			return nil, fmt.Errorf("%s: %w", pd.name, err)
		}
		opts := options(p)
		man, err := manPage(p, pd)
		if err != nil {
			return nil, err
		}
		files["packaging/man/"+pd.name+".1"] = man
		if i > 0 {
			icinga.WriteString("\n")
		}
		icingaCommand(&icinga, pd, opts)
		files["contrib/nagios/"+pd.name+".cfg"] = nagiosCommands(pd, opts)
		if _, skip := zabbixSkip[pd.name]; skip {
			continue
		}
		fmt.Fprintf(&zbxUP, "# %s: %s\nUserParameter=%s[*],%s/%s --output=json --hostname='$1' --timeout='$2' $3\n",
			pd.name, pd.short, zabbixKey(pd), pluginDir, pd.name)
	}
	files["packaging/man/smtpcheck-secret.1"] = []byte(minusSigns(helperManPage))
	files["packaging/man/smtpcheck-secret-cloud.1"] = []byte(minusSigns(cloudHelperManPage))
	daemon, err := daemonManPage()
	if err != nil {
		return nil, err
	}
	files["packaging/man/"+health.Name+".1"] = daemon
	files["contrib/icinga2/smtpcheck-commands.conf"] = icinga.Bytes()
	files["contrib/zabbix/userparameter_smtpcheck.conf"] = zbxUP.Bytes()
	files["contrib/zabbix/template_smtpcheck.yaml"] = zabbixTemplate()
	return files, nil
}

func header(c string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s GENERATED by packaging/gen from the plugins' option definitions: do not edit.\n", c)
	fmt.Fprintf(&b, "%s Regenerate with `go run ./packaging/gen` (gen_test.go fails when this file drifts).\n%s\n", c, c)
	for _, l := range lines {
		fmt.Fprintln(&b, strings.TrimRight(c+" "+l, " "))
	}
	return b.String()
}

// options are the parser's options in definition order, help group
// included; those a plugin does not take (hidden: plugin.FlagAdjust) left out.
func options(p *flags.Parser) []*flags.Option {
	var out []*flags.Option
	var walk func(g *flags.Group)
	walk = func(g *flags.Group) {
		for _, o := range g.Options() {
			if !o.Hidden {
				out = append(out, o)
			}
		}
		for _, sub := range g.Groups() {
			walk(sub)
		}
	}
	walk(p.Command.Group)
	return out
}

// commandName maps check_smtp_conn to smtpcheck_conn.
func commandName(pl string) string { return "smtpcheck_" + strings.TrimPrefix(pl, "check_smtp_") }

func zabbixKey(pd pluginDef) string { return "smtpcheck." + strings.TrimPrefix(pd.name, "check_smtp_") }

type kind int

const (
	kValue  kind = iota
	kBool        // a switch: set_if
	kRepeat      // a slice or map: the flag once per element
)

func kindOf(o *flags.Option) kind {
	t := o.Field().Type
	switch t.Kind() {
	case reflect.Bool:
		return kBool
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Bool { // -v -v: a counted switch
			return kBool
		}
		return kRepeat
	case reflect.Map:
		return kRepeat
	}
	return kValue
}

// describe is the option's description with its default and choices.
func describe(o *flags.Option) string {
	d := o.Description
	if len(o.Default) > 0 && !strings.Contains(d, "(default:") {
		d += " (default: " + strings.Join(o.Default, ", ") + ")"
	}
	if len(o.Choices) > 0 {
		d += " [" + strings.Join(o.Choices, "|") + "]"
	}
	switch kindOf(o) {
	case kRepeat:
		if !strings.Contains(d, "repeatable") {
			d += " (repeatable)"
		}
		if o.Field().Type.Kind() == reflect.Map {
			d += "; an array of \"" + o.ValueName + "\" strings"
		} else {
			d += "; an array"
		}
	case kBool:
		if o.Field().Type.Kind() == reflect.Slice {
			d += " (set_if: passes the flag once)"
		}
	}
	return d
}

func icingaString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + s + `"`
}

func icingaCommand(b *bytes.Buffer, pd pluginDef, opts []*flags.Option) {
	cmd := commandName(pd.name)
	fmt.Fprintf(b, "\n// %s: %s\n", pd.name, pd.short)
	var skipped []string
	for _, o := range opts {
		if why, ok := excluded(pd.name, o.LongNameWithNamespace()); ok {
			skipped = append(skipped, fmt.Sprintf("--%s (%s)", o.LongNameWithNamespace(), why))
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintf(b, "// Not exposed: %s.\n", strings.Join(skipped, "; "))
	}
	fmt.Fprintf(b, "object CheckCommand %q {\n\timport \"ipv4-or-ipv6\"\n\n\tcommand = [ PluginDir + \"/%s\" ]\n\n\targuments = {\n", cmd, pd.name)
	var vars []string
	for _, o := range opts {
		long := o.LongNameWithNamespace() // with its group's namespace: --imap-user
		if _, ok := excluded(pd.name, long); ok || long == "" {
			continue
		}
		v := cmd + "_" + strings.ReplaceAll(long, "-", "_")
		fmt.Fprintf(b, "\t\t\"--%s\" = {\n", long)
		switch kindOf(o) {
		case kBool:
			fmt.Fprintf(b, "\t\t\tset_if = \"$%s$\"\n", v)
		case kRepeat:
			fmt.Fprintf(b, "\t\t\tvalue = \"$%s$\"\n\t\t\trepeat_key = true\n\t\t\tseparator = \"=\"\n", v)
		default:
			fmt.Fprintf(b, "\t\t\tvalue = \"$%s$\"\n\t\t\tseparator = \"=\"\n", v)
			if long == "sni-name" { // its default (dnsName) may be null: then no flag, not an empty one
				fmt.Fprintf(b, "\t\t\tset_if = {{ macro(\"$%s$\") != \"\" }}\n", v)
			}
		}
		fmt.Fprintf(b, "\t\t\tdescription = %s\n\t\t}\n", icingaString(describe(o)))
		switch long {
		case "hostname":
			vars = append(vars, fmt.Sprintf("\tvars.%s = \"$check_address$\"", v))
		case "timeout":
			if len(o.Default) == 1 {
				vars = append(vars, fmt.Sprintf("\tvars.%s = %s", v, o.Default[0]))
			}
		case "sni-name":
			vars = append(vars, fmt.Sprintf("\tvars.%s = "+dnsName, v, cmd+"_hostname"))
		case "use-ipv4", "use-ipv6": // as the ITL: the flag also picks the address family of $check_address$
			fam := strings.TrimPrefix(long, "use-")
			vars = append(vars, fmt.Sprintf("\tvars.check_%s = \"$%s$\"", fam, v))
		}
	}
	b.WriteString("\t}\n\n")
	if env := icingaEnv[pd.name]; len(env) > 0 {
		b.WriteString("\tenv = {\n")
		for _, e := range env {
			v := cmd + "_" + strings.ReplaceAll(e[1], "-", "_")
			fmt.Fprintf(b, "\t\t// vars.%s = \"...\" with vars.%s_ref = \"env:%s\"\n\t\t%q = \"$%s$\"\n", v, v, e[0], e[0], v)
		}
		b.WriteString("\t}\n\n")
	}
	for _, v := range vars {
		b.WriteString(v + "\n")
	}
	b.WriteString("}\n")
}

// nagiosCommands: the common -H/-p/-w/-c form (a plugin that logs in also
// takes the user and a secret reference) and a generic one taking the whole
// argument string in $ARG1$.
func nagiosCommands(pd pluginDef, opts []*flags.Option) []byte {
	cmd := "check_" + commandName(pd.name)
	var common, names []string
	for _, long := range []string{"port", "warning", "critical", "user", "password-ref"} {
		if slices.ContainsFunc(opts, func(o *flags.Option) bool { return o.LongNameWithNamespace() == long }) {
			common = append(common, fmt.Sprintf("--%s='$ARG%d$'", long, len(common)+1))
			names = append(names, nagiosArgNames[long])
		}
	}
	usage := []string{fmt.Sprintf("%s!%s    all %d arguments are needed", cmd, strings.Join(names, "!"), len(names))}
	if slices.Contains(names, nagiosArgNames["user"]) {
		// $USERn$ macros in arguments are expanded, and resource.cfg is
		// readable by Nagios alone and never shown by the CGIs.
		usage = append(usage,
			"  USER and SECRET_REF are best $USERn$ macros of resource.cfg, e.g.",
			"    $USER5$=monitor@example.org",
			"    $USER6$=file:/etc/nagios4/smtp-monitor.pass    (chmod 600, owned by nagios)",
			"  and "+cmd+"!587!2!5!$USER5$!$USER6$; SECRET_REF is a reference (file:, env:,",
			"  vault:, keyring:), never the password.")
	}
	sni := ""
	if nagiosSNI[pd.name] {
		sni = " --sni-name='$_HOSTSNI$'"
		usage = append(usage,
			"  The name sent as SNI and verified in the certificate is the host's custom",
			"  variable _SNI (`_SNI mail.example.org` in its define host), else $HOSTADDRESS$:",
			"  give _SNI to a host whose address is an IP, as most certificates carry only",
			"  DNS names. A host without _SNI passes an empty --sni-name, the same as none.",
			"  The _args form takes --sni-name='$_HOSTSNI$' like any other flag.")
	}
	lines := append([]string{fmt.Sprintf("Nagios command definitions for %s: %s.", pd.name, pd.short),
		"Debian packages install this as /etc/nagios-plugins/config/" + pd.name + ".cfg.",
		"$USER1$ is the plugin directory (/usr/lib/nagios/plugins in Debian's resource.cfg).",
		""}, usage...)
	lines = append(lines, cmd+"_args!ARGUMENTS    any flags, see `man "+pd.name+"`", "", "Flags: "+flagList(pd, opts))
	var b bytes.Buffer
	b.WriteString(header("#", lines...))
	fmt.Fprintf(&b, "\ndefine command {\n\tcommand_name\t%s\n\tcommand_line\t$USER1$/%s --hostname='$HOSTADDRESS$'%s %s\n}\n", cmd, pd.name, sni, strings.Join(common, " "))
	fmt.Fprintf(&b, "\ndefine command {\n\tcommand_name\t%s_args\n\tcommand_line\t$USER1$/%s --hostname='$HOSTADDRESS$' $ARG1$\n}\n", cmd, pd.name)
	return b.Bytes()
}

func flagList(pd pluginDef, opts []*flags.Option) string {
	var fl []string
	for _, o := range opts {
		long := o.LongNameWithNamespace()
		if _, ok := excluded(pd.name, long); ok || long == "" {
			continue
		}
		fl = append(fl, "--"+long)
	}
	return strings.Join(fl, " ")
}

// manPage is go-flags' man page with a stable .TH line (no build date, so
// the committed file does not drift) and EXIT STATUS / SEE ALSO sections.
func manPage(p *flags.Parser, pd pluginDef) ([]byte, error) {
	opts := options(p)
	perfdata, environment, examples, err := manSections(pd, opts)
	if err != nil {
		return nil, err
	}
	b, err := flagsPage(p)
	if err != nil {
		return nil, err
	}
	b.WriteString(".SH EXIT STATUS\n0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also after \\fB-h\\fP and \\fB-V\\fP), as for every Nagios plugin.\n")
	b.WriteString(perfdata + environment)
	b.WriteString(".SH FILES\n.TP\n/usr/share/icinga2/include/plugins-contrib.d/smtpcheck.conf\nIcinga 2 CheckCommand \\fB" + commandName(pd.name) + "\\fP.\n")
	b.WriteString(".TP\n/etc/nagios-plugins/config/" + pd.name + ".cfg\nNagios command definitions (Debian).\n")
	var see []string
	for _, o := range plugins {
		if o.name != pd.name {
			see = append(see, "\\fB"+o.name+"\\fP(1)")
		}
	}
	see = append(see, "\\fBsmtpcheck\\-secret\\fP(1)", "the README in /usr/share/doc/smtpcheck/")
	b.WriteString(examples)
	b.WriteString(".SH SEE ALSO\n" + strings.Join(see, ", ") + "\n")
	return []byte(minusSigns(b.String())), nil
}

// uuid is a stable Zabbix UUID (32 hex digits, version 4 form) for name.
func uuid(name string) string {
	h := md5.Sum([]byte("smtpcheck/" + name))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return hex.EncodeToString(h[:])
}

func yq(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// zabbixTemplate is a Zabbix 6.0 template: per plugin a master item (the
// JSON), dependent items for exit code, summary and chosen perfdata, and
// triggers on the exit code.
func zabbixTemplate() []byte {
	const tmpl = "smtpcheck by Zabbix agent"
	var b bytes.Buffer
	b.WriteString(header("#", "Zabbix 6.0 template for the smtpcheck UserParameters (userparameter_smtpcheck.conf).",
		"Import (Zabbix 6.0): Configuration > Templates > Import; in 6.4 and 7.x the menu is Data collection > Templates.",
		"Link it to the host whose agent has the UserParameters."))
	fmt.Fprintf(&b, "zabbix_export:\n  version: '6.0'\n  groups:\n    - uuid: %s\n      name: Templates/Applications\n", uuid("group"))
	fmt.Fprintf(&b, "  templates:\n    - uuid: %s\n      template: %s\n      name: %s\n", uuid("template"), yq(tmpl), yq(tmpl))
	b.WriteString("      description: 'SMTP checks with the smtpcheck plugins (https://github.com/smtpcheck/smtpcheck) through zabbix_agentd UserParameters.'\n")
	b.WriteString("      groups:\n        - name: Templates/Applications\n      items:\n")
	var macros [][3]string
	macros = append(macros,
		[3]string{"{$SMTPCHECK.HOST}", "127.0.0.1", "SMTP server the agent checks"},
		[3]string{"{$SMTPCHECK.TIMEOUT}", "2", "Plugin timeout in seconds; keep below the agent's Timeout"},
		[3]string{"{$SMTPCHECK.INTERVAL}", "5m", "Check interval"})
	for _, pd := range plugins {
		if _, skip := zabbixSkip[pd.name]; skip {
			continue
		}
		short := strings.TrimPrefix(pd.name, "check_smtp_")
		key := zabbixKey(pd)
		argsMacro := "{$SMTPCHECK." + strings.ToUpper(short) + ".ARGS}"
		macros = append(macros, [3]string{argsMacro, pd.zabbixArgs, "Extra arguments for " + pd.name})
		timeout := "{$SMTPCHECK.TIMEOUT}"
		if m, ok := zabbixTimeouts[pd.name]; ok {
			timeout = m[0]
			macros = append(macros, m)
		}
		master := fmt.Sprintf("%s[{$SMTPCHECK.HOST},%s,\"%s\"]", key, timeout, argsMacro)
		fmt.Fprintf(&b, "        - uuid: %s\n          name: %s\n          key: %s\n          delay: '{$SMTPCHECK.INTERVAL}'\n          history: 7d\n          trends: '0'\n          value_type: TEXT\n          description: %s\n          tags:\n            - tag: component\n              value: smtp\n",
			uuid(key+"/raw"), yq(pd.name+": JSON result"), yq(master), yq(pd.short+" (the plugin's --output json)"))
		dep := func(suffix, name, vtype, units, path, handler string) {
			fmt.Fprintf(&b, "        - uuid: %s\n          name: %s\n          type: DEPENDENT\n          key: %s\n          delay: '0'\n          history: 31d\n",
				uuid(key+"/"+suffix), yq(name), yq(key+"."+suffix))
			if vtype != "" {
				fmt.Fprintf(&b, "          value_type: %s\n", vtype)
			}
			if vtype == "CHAR" {
				b.WriteString("          trends: '0'\n")
			}
			if units != "" {
				fmt.Fprintf(&b, "          units: %s\n", yq(units))
			}
			if suffix == "exit_code" {
				b.WriteString("          valuemap:\n            name: 'Nagios plugin state'\n")
			}
			fmt.Fprintf(&b, "          preprocessing:\n            - type: JSONPATH\n              parameters:\n                - %s\n", yq(path))
			if handler != "" {
				fmt.Fprintf(&b, "              error_handler: %s\n", handler)
			}
			fmt.Fprintf(&b, "          master_item:\n            key: %s\n          tags:\n            - tag: component\n              value: smtp\n", yq(master))
		}
		dep("exit_code", pd.name+": state", "", "", "$.exit_code", "")
		// Triggers sit on the state item.
		fmt.Fprintf(&b, "          triggers:\n")
		for _, t := range []struct {
			code     int
			state    string
			priority string
		}{{2, "CRITICAL", "HIGH"}, {1, "WARNING", "WARNING"}, {3, "UNKNOWN", "AVERAGE"}} {
			fmt.Fprintf(&b, "            - uuid: %s\n              expression: %s\n              name: %s\n              opdata: %s\n              priority: %s\n",
				uuid(key+"/trigger/"+t.state), yq(fmt.Sprintf("last(/%s/%s.exit_code)=%d", tmpl, key, t.code)),
				yq(fmt.Sprintf("%s %s on {HOST.NAME}", pd.name, t.state)), yq("{ITEM.LASTVALUE}"), t.priority)
		}
		dep("summary", pd.name+": summary", "CHAR", "", "$.summary", "")
		for _, pf := range pd.zabbixPerf {
			dep("perf."+pf[0], pd.name+": "+pf[0], "FLOAT", pf[1], fmt.Sprintf("$.perfdata[?(@.label == '%s')].value.first()", pf[0]), "DISCARD_VALUE")
		}
	}
	b.WriteString("      macros:\n")
	for _, m := range macros {
		fmt.Fprintf(&b, "        - macro: %s\n          value: %s\n          description: %s\n", yq(m[0]), yq(m[1]), yq(m[2]))
	}
	b.WriteString("      valuemaps:\n")
	fmt.Fprintf(&b, "        - uuid: %s\n          name: 'Nagios plugin state'\n          mappings:\n", uuid("valuemap"))
	for i, s := range []string{"OK", "WARNING", "CRITICAL", "UNKNOWN"} {
		fmt.Fprintf(&b, "            - value: '%d'\n              newvalue: %s\n", i, s)
	}
	return b.Bytes()
}

// helperOptions is the OPTIONS and EXIT STATUS of both helpers, which share
// their main (secret.HelperProgram).
const helperOptions = `.SH OPTIONS
It takes no arguments when it is run for a request; any argument other than
these is refused with exit status 3.
.TP
\fB\-h\fP, \fB\-\-help\fP
Say what it is and how it is called.
.TP
\fB\-V\fP, \fB\-\-version\fP
Print the version, the same as the plugins' \fB\-V\fP.
.SH EXIT STATUS
0 when it answered (the answer may be an error) and after \fB\-\-help\fP or
\fB\-\-version\fP; 3 when the request could not be read or the answer not
written, as a plugin's UNKNOWN, or for any other argument.
`

// helperManPage documents smtpcheck-secret, which has no options to
// generate a page from: the plugins talk to it over a pipe.
const helperManPage = `.\" GENERATED by packaging/gen: do not edit.
.TH smtpcheck-secret 1 "" "smtpcheck" "Monitoring plugins"
.nh
.SH NAME
smtpcheck-secret \- read vault:, keyring:, aws-sm:, azure-kv: and gpg: secret references for the smtpcheck plugins
.SH SYNOPSIS
\fBsmtpcheck\-secret\fP < \fIrequest\fP
.br
\fBsmtpcheck\-secret\fP \fB\-h\fP | \fB\-\-help\fP | \fB\-V\fP | \fB\-\-version\fP
.SH DESCRIPTION
smtpcheck-secret is not meant to be run by hand. \fBcheck_smtp_auth\fP starts it
when a credential reference needs a secret store (\fBvault:\fP, \fBkeyring:\fP,
\fBaws\-sm:\fP, \fBazure\-kv:\fP, \fBgpg:\fP) or an OAuth 2 client-credentials grant
(\fB\-\-oauth\-token\-url\fP), so that the plugins themselves link neither the
Vault, keyring, cloud nor HTTP client libraries. \fBenv:\fP and \fBfile:\fP
references are read by the plugins directly. For \fBaws\-sm:\fP and
\fBazure\-kv:\fP it runs \fBsmtpcheck\-secret\-cloud\fP from its own directory in
turn, under the same deadline and checks: only that program links the AWS and
Azure SDKs, whose start-up would otherwise slow every other read.
.SH REFERENCES
.TP
\fBaws\-sm:\fP\fINAME\fP[\fB#\fP\fIFIELD\fP]
AWS Secrets Manager: the secret \fINAME\fP or its ARN (an ARN's region is used
unless \fB\-\-aws\-region\fP is given), e.g. \fBaws\-sm:prod/smtp\fP or
\fBaws\-sm:prod/smtp#password\fP, \fIFIELD\fP of a JSON secret (a JSON secret without
\fB#\fP\fIFIELD\fP is refused). Credentials come from the AWS SDK's default chain:
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, web identity,
SSO, the instance's role. \fB\-\-aws\-version\-stage\fP or \fB\-\-aws\-version\-id\fP pick
a version; \fB\-\-aws\-no\-imds\fP (or AWS_EC2_METADATA_DISABLED=true) keeps it from
asking the instance metadata service. No retries; every request, credential
discovery included, ends at the plugin's deadline.
.TP
\fBazure\-kv:\fP\fIVAULT\fP\fB/\fP\fINAME\fP[\fB/\fP\fIVERSION\fP]
Azure Key Vault: the secret \fINAME\fP (its latest or the given version) in
https://\fIVAULT\fP.vault.azure.net, e.g. \fBazure\-kv:contoso\-mon/smtp\-relay\fP;
\fB\-\-azure\-vault\-url\fP changes the URL (e.g. https://{vault}.vault.azure.cn).
The token comes from azidentity's DefaultAzureCredential: environment
(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET), workload identity,
managed identity, Azure CLI; \fB\-\-azure\-no\-managed\-identity\fP leaves the
managed identity (169.254.169.254) out. No retries; the deadline as above.
.TP
\fBgpg:\fP\fIPATH\fP
The first line of a file encrypted with gpg (\fBgpg \-\-encrypt \-r\fP the monitoring
user's key), e.g. \fBgpg:/etc/smtpcheck/relay.asc\fP, decrypted by the real gpg in
batch mode, never with a prompt. The file is checked as for \fBfile:\fP (regular,
not readable by group or others, at most 64 KiB). A key's passphrase comes from
\fB\-\-gpg\-passphrase\-ref\fP (another reference, passed to gpg through a pipe), or
gpg-agent holds the key unlocked. gpg is killed at the deadline.
.PP
The request (the reference, the plugin's secret-store options and its
deadline) arrives as one JSON object on standard input; the value, or a
one-line error that never contains a secret, goes back as JSON on standard
output. The helper stops 50 ms before the plugin's \fB\-t\fP deadline, so that its
own message says which request stalled.
.PP
A plugin runs the helper from its own directory (symbolic links followed),
only when the helper and every directory above it are owned by root or by the
plugin's user and are not writable by group or others, in a session of its
own that is killed whole at the deadline. Its answer is capped at 1 MiB.
` + helperOptions + `.SH ENVIRONMENT
.TP
VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_NAMESPACE
HashiCorp Vault's address, token, CA bundle and namespace (vault/api's own
variables), unless the plugin's \fB\-\-vault\-*\fP options say otherwise.
.TP
DBUS_SESSION_BUS_ADDRESS
The session bus of the \fBsecret-service\fP keyring backend. When it is not
set, the helper sets it to \fBdisabled:\fP for itself, so that no
\fBdbus-launch\fP is ever spawned.
.TP
PASSWORD_STORE_DIR, GNUPGHOME
Where the \fBpass\fP keyring backend and gpg look for the store and the keys.
.TP
AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_EC2_METADATA_DISABLED, AWS_ENDPOINT_URL_SECRETS_MANAGER
The AWS SDK's own variables, for \fBaws\-sm:\fP references.
.TP
AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_FEDERATED_TOKEN_FILE, AZURE_TOKEN_CREDENTIALS, IDENTITY_ENDPOINT
azidentity's own variables, for \fBazure\-kv:\fP references.
.SH EXAMPLES
.TP
\fBsmtpcheck\-secret \-\-version\fP
The version of the installed helper; it must match the plugins'.
.TP
\fBcheck_smtp_auth \-H smtp.example.org \-\-user monitor \-\-password\-ref keyring:smtp/monitor \-\-keyring\-backend keyctl \-v\fP
A check that runs the helper for its \fBkeyring:\fP reference.
.TP
\fBcheck_smtp_auth \-H smtp.example.org \-\-user monitor \-\-password\-ref aws\-sm:prod/smtp#password \-\-aws\-region eu\-west\-1\fP
The password from a JSON secret in AWS Secrets Manager.
.TP
\fBcheck_smtp_auth \-H smtp.example.org \-\-user monitor \-\-password\-ref gpg:/etc/smtpcheck/relay.asc \-\-gpg\-passphrase\-ref file:/etc/smtpcheck/gpg.pass\fP
The password from a gpg-encrypted file, the key's passphrase from a private file.
.SH SEE ALSO
\fBcheck_smtp_auth\fP(1)
`

// cloudHelperManPage documents smtpcheck-secret-cloud, which smtpcheck-secret
// runs for aws-sm: and azure-kv: references; the references themselves are
// documented once, on smtpcheck-secret's page.
const cloudHelperManPage = `.\" GENERATED by packaging/gen: do not edit.
.TH smtpcheck-secret-cloud 1 "" "smtpcheck" "Monitoring plugins"
.nh
.SH NAME
smtpcheck-secret-cloud \- read aws-sm: and azure-kv: secret references for smtpcheck-secret
.SH SYNOPSIS
\fBsmtpcheck\-secret\-cloud\fP < \fIrequest\fP
.br
\fBsmtpcheck\-secret\-cloud\fP \fB\-h\fP | \fB\-\-help\fP | \fB\-V\fP | \fB\-\-version\fP
.SH DESCRIPTION
smtpcheck-secret-cloud is not meant to be run by hand. \fBsmtpcheck\-secret\fP
runs it from its own directory for \fBaws\-sm:\fP (AWS Secrets Manager) and
\fBazure\-kv:\fP (Azure Key Vault) references, under the plugin's deadline and
with the same ownership and mode checks it passes itself. It is a program of
its own because the AWS and Azure SDKs it links take several milliseconds to
start, which every \fBkeyring:\fP and \fBvault:\fP read would otherwise pay.
Keep it beside \fBsmtpcheck\-secret\fP and the plugins.
.PP
The request arrives as one JSON object on standard input; the value, or a
one-line error naming the store, the reference and the status and never
containing a secret, goes back as JSON on standard output. The references,
the options that shape them (\fB\-\-aws\-*\fP, \fB\-\-azure\-*\fP) and the
environment the SDKs read are described in \fBsmtpcheck\-secret\fP(1).
` + helperOptions + `.SH SEE ALSO
\fBsmtpcheck\-secret\fP(1), \fBcheck_smtp_auth\fP(1)
`
