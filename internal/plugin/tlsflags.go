package plugin

import (
	"cmp"
	"context"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// TLS is the flag group of every plugin that speaks TLS: the same names and
// meanings in each, so that a user who learnt one plugin is not tripped by
// the next. A plugin embeds it, says how it uses it in a TLSUse (its
// default mode, the flags it words its own way or does not take), returns
// that TLSUse's FlagAdjust from a FlagAdjust method for NewParser, and
// calls Validate after Server.Validate.
type TLS struct {
	SSL        bool   `short:"s" long:"ssl" description:"Implicit TLS from the first byte (SMTPS; the default on port 465)"`
	TLSAlias   bool   `long:"tls" description:"Same as --ssl"`
	StartTLS   bool   `short:"S" long:"starttls" description:"Use STARTTLS (the default, except on port 465)"`
	NoTLS      bool   `long:"no-tls" description:"Do not encrypt at all, even on port 465"`
	SNI        bool   `long:"sni" description:"Takes no value (check_smtp's flag): SNI is always sent for host names; --sni-name NAME sends another name"`
	SNIName    string `long:"sni-name" value-name:"NAME" description:"Send this name as SNI (default: -H when it is a name)"`
	VerifyName string `long:"verify-name" value-name:"NAME" description:"Verify the certificate for this name (default: the SNI name, else -H)"`
	CAFile     string `long:"ca-file" value-name:"FILE" description:"Trust the CAs in this PEM file instead of the system's"`
	Insecure   bool   `long:"insecure" description:"Do not verify the certificate (said in the output)"`
	MinTLS     string `long:"min-tls" default:"1.2" value-name:"VERSION" description:"Lowest TLS version accepted (1.0, 1.1, 1.2, 1.3): the handshake with a server that offers only older ones fails, CRITICAL"`

	// Derived by Validate.
	mode       probe.TLSMode
	roots      *probe.Roots
	minVersion uint16
}

// TLSUse is how one plugin uses the TLS group.
type TLSUse struct {
	// Default is the mode without -s, -S or --no-tls on a port other
	// than 465 (which always means implicit TLS then).
	Default probe.TLSMode
	FlagAdjust
}

// ImplicitAsked reports whether -s or --tls was given: the default port
// (Server.Validate) is known before the mode is.
func (t *TLS) ImplicitAsked() bool { return t.SSL || t.TLSAlias }

// Validate refuses, before anything is dialled, what the group cannot run
// with, and derives the mode, the roots and the lowest version. port is
// the port already defaulted by Server.Validate, which has also taken a
// positional host: an argument left over after --sni is the value the old
// check_smtp_tls --sni took.
func (t *TLS) Validate(ctx context.Context, c *Common, port int, use TLSUse) error {
	for _, long := range slices.Sorted(maps.Keys(use.Refuse)) {
		if c.Given(long) {
			return Usagef("--%s: %s", long, use.Refuse[long])
		}
	}
	if t.SNI && len(c.Args) > 0 {
		return Usagef("unexpected argument %q: --sni takes no value: use --sni-name NAME", c.Args[0])
	}
	if err := t.exclusive(); err != nil {
		return err
	}
	var err1, err2 error
	t.SNIName, err1 = HostName("--sni-name", t.SNIName)
	t.VerifyName, err2 = HostName("--verify-name", t.VerifyName)
	if err := cmp.Or(err1, err2); err != nil {
		return err
	}
	var err error
	if t.minVersion, err = tlsaudit.ParseVersion(t.MinTLS); err != nil {
		return Usagef("--min-tls: %v", err)
	}
	switch {
	case t.ImplicitAsked():
		t.mode = probe.TLSImplicit
	case t.StartTLS:
		t.mode = probe.TLSStartTLS
	case t.NoTLS:
		t.mode = probe.TLSNone
	case port == 465:
		t.mode = probe.TLSImplicit
	default:
		t.mode = use.Default
	}
	if t.mode == probe.TLSNone {
		// Taken without a word, they would let a check look verified.
		for _, long := range []string{"sni-name", "verify-name", "ca-file", "insecure", "min-tls"} {
			if c.Given(long) {
				return Usagef("--%s needs TLS, and this check runs without: add -S (STARTTLS) or -s (implicit TLS)", long)
			}
		}
	}
	if t.CAFile != "" {
		if t.roots, err = probe.LoadRoots(ctx, "--ca-file", t.CAFile); err != nil {
			return Usagef("--ca-file: %v", err)
		}
	}
	return nil
}

// exclusive refuses more than one of -s, -S and --no-tls, naming those given.
func (t *TLS) exclusive() error {
	var given []string
	for _, f := range []struct {
		set  bool
		name string
	}{{t.ImplicitAsked(), "-s (implicit TLS)"}, {t.StartTLS, "-S (STARTTLS)"}, {t.NoTLS, "--no-tls"}} {
		if f.set {
			given = append(given, f.name)
		}
	}
	if len(given) < 2 {
		return nil
	}
	return Usagef("%s and %s exclude each other", strings.Join(given[:len(given)-1], ", "), given[len(given)-1])
}

// Mode is how the session gets encrypted.
func (t *TLS) Mode() probe.TLSMode { return t.mode }

// MinVersion is --min-tls, parsed.
func (t *TLS) MinVersion() uint16 { return t.minVersion }

// Roots are the --ca-file roots; nil for the system's.
func (t *TLS) Roots() *probe.Roots { return t.roots }

// ApplyTo fills the TLS fields of a probe target. --min-tls becomes the
// handshake's lowest version: an older server fails the handshake.
func (t *TLS) ApplyTo(pt *probe.Target) {
	pt.TLS = t.mode
	pt.ServerName, pt.VerifyName = t.SNIName, t.VerifyName
	pt.Roots, pt.Insecure = t.roots, t.Insecure
	pt.MinVersion = t.minVersion
}

// AuditRoots are the roots tlsaudit judges a chain against: --ca-file's,
// or the system roots certs name (read bounded, see probe.SystemRootsFor).
// Its error is worded for a status line.
func (t *TLS) AuditRoots(ctx context.Context, certs []*x509.Certificate) (tlsaudit.Roots, error) {
	if t.roots == nil {
		pool, err := probe.SystemRootsFor(ctx, certs)
		if err != nil {
			return tlsaudit.Roots{}, &probe.RootsError{Err: err}
		}
		return tlsaudit.Roots{Pool: pool, Label: t.roots.Label()}, nil
	}
	pool, err := t.roots.Pool()
	if err != nil {
		return tlsaudit.Roots{}, fmt.Errorf("--ca-file: %v", err)
	}
	rc, _ := t.roots.Certs()
	return tlsaudit.Roots{Pool: pool, Certs: rc, Label: t.roots.Label()}, nil
}
