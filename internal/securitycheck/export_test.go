package securitycheck

import (
	"context"
	"strings"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// parse runs the command line through Parse and Validate, as Run does.
func parse(o *Options, args ...string) ([]string, string, error) {
	rest, msg, err := plugin.Parse(context.Background(), Name, args, o)
	if err != nil {
		return rest, msg, err
	}
	return rest, msg, o.Validate(context.Background())
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
