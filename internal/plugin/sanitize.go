package plugin

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTextLen caps one piece of server text quoted in output.
const MaxTextLen = 200

// Sanitize makes server-supplied text safe for a Nagios status or long-output
// line: '|' would start perfdata, control characters and invalid UTF-8 would
// garble the line, and a hostile server could send kilobytes.
func Sanitize(s string, max int) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == utf8.RuneError && size <= 1:
			r = '?'
		case r == '|':
			r = '¦'
		case r == '\t', r == '\r', r == '\n':
			r = ' '
		case !unicode.IsPrint(r):
			r = '?'
		}
		if n == max {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
