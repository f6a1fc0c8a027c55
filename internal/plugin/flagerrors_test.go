package plugin_test

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/authcheck"
	"github.com/smtpcheck/smtpcheck/internal/conncheck"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/tlscheck"
)

// goWords are what a Go type or library error looks like in a message.
var goWords = regexp.MustCompile(`\b[a-z]+\.[A-Z]\w*|\b(u?int\d*|float\d+|string|bool|map|strconv|expected [a-z])\b`)

// TestFlagValueErrorsInWords gives every flag of every plugin that takes a
// value a bad one: the usage error names the flag and what it wants, never
// a Go type or a library's function.
func TestFlagValueErrorsInWords(t *testing.T) {
	plugins := map[string]func() plugin.Options{
		conncheck.Name: func() plugin.Options { return &conncheck.Options{} },
		authcheck.Name: func() plugin.Options { return &authcheck.Options{} },
		tlscheck.Name:  func() plugin.Options { return &tlscheck.Options{} },
	}
	for name, fresh := range plugins {
		var longs []string
		for _, g := range plugin.NewParser(name, fresh()).Groups() {
			for _, g := range append(g.Groups(), g) {
				for _, opt := range g.Options() {
					if opt.LongName != "" && opt.Field().Type.Kind() != reflect.Bool && !isBoolSlice(opt.Field().Type) {
						longs = append(longs, opt.LongName)
					}
				}
			}
		}
		if len(longs) < 10 {
			t.Fatalf("%s: only %d flags found", name, len(longs))
		}
		for _, long := range longs {
			for _, bad := range []string{"x y", "25 ", "-1.5e999"} {
				_, _, err := plugin.Parse(context.Background(), name, []string{"--" + long + "=" + bad}, fresh())
				var ue *plugin.UsageError
				if err != nil && (!errors.As(err, &ue) || goWords.MatchString(err.Error())) {
					t.Errorf("%s --%s=%q: %v", name, long, bad, err)
				}
			}
		}
	}
}

func isBoolSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Bool
}
