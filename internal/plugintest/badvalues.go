package plugintest

import (
	"sync/atomic"
	"testing"
)

// BadValue is a command line a plugin must refuse before dialling, and
// the message its UNKNOWN gives. An alias of a plain struct, so that tables
// can list it unkeyed ({args, msg}) without go vet's composites complaint.
type BadValue = struct {
	Args []string
	Msg  string
}

// ExpectBadValues runs each case through run, which adds the case's
// arguments to a command line that would otherwise reach the test server,
// and asserts exit 3 with "SERVICE UNKNOWN - MSG (see NAME --help)"; then
// that dialled, the connections that server counted, is still 0.
func ExpectBadValues(t testing.TB, service, name string, dialled *atomic.Int32, run func(args ...string) Outcome, cases []BadValue) {
	t.Helper()
	for _, c := range cases {
		run(c.Args...).Expect(t, 3, service+" UNKNOWN - "+c.Msg+" (see "+name+" --help)")
	}
	if n := dialled.Load(); n != 0 {
		t.Errorf("the server saw %d connections for command lines that cannot run", n)
	}
}
