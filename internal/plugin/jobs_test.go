package plugin_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/fanout"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

func TestJobFailure(t *testing.T) {
	tmo := plugin.Timeout{Duration: time.Second, State: plugin.Warning}
	cases := []struct {
		err  error
		want plugin.Finding
	}{
		{&fanout.PanicError{Job: "the TLSv1.1 handshake of the version scan", Value: "boom"},
			plugin.Finding{State: plugin.Unknown, Text: "internal error in the TLSv1.1 handshake of the version scan: boom (a bug: please report it with the command line)"}},
		{fmt.Errorf("wrapped: %w", &fanout.PanicError{Job: "the DANE (TLSA) lookup", Value: errors.New("index out of range")}),
			plugin.Finding{State: plugin.Unknown, Text: "internal error in the DANE (TLSA) lookup: index out of range (a bug: please report it with the command line)"}},
		{&fanout.NotStartedError{Job: "the check of 127.0.0.1:25", Busy: 4},
			plugin.Finding{State: plugin.Warning, Text: "not tried: the -t deadline passed while 4 other MX addresses were being checked"}},
		{&fanout.NotStartedError{Job: "the check of 127.0.0.1:25"},
			plugin.Finding{State: plugin.Warning, Text: "not tried: the -t deadline passed before its turn"}},
		{errors.New("something else"), plugin.Finding{State: plugin.Unknown, Text: "internal error: something else"}},
	}
	for _, c := range cases {
		if got := plugin.JobFailure(c.err, tmo, "MX addresses"); got != c.want {
			t.Errorf("%v:\n got %+v\nwant %+v", c.err, got, c.want)
		}
	}
}
