package conncheck

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/plugintest"
	"github.com/smtpcheck/smtpcheck/internal/smtptest"
)

// BenchmarkCheck is one whole check_smtp_conn run in-process (parse, probe,
// judge, render) against the in-process go-smtp server: the plugin's own
// cost, without the process start that `make bench` includes.
func BenchmarkCheck(b *testing.B) {
	l := newLab(b, smtptest.Config{}, smtptest.LeafOptions{})
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"plain", nil},
		{"starttls", []string{"-S"}},
		{"starttls-verified", []string{"-S", "--verify", "--ca-file", l.caFile}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			args := l.args(bc.args...)
			for b.Loop() {
				if o := plugintest.Run(b, Name, Service, &Options{}, Check, args...); o.Code != 0 {
					b.Fatalf("exit %d: %s", o.Code, o.Out)
				}
			}
		})
	}
}
