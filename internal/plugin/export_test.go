package plugin

import "time"

// SetParseTimeout shortens the bound on reading the options for a test.
func SetParseTimeout(d time.Duration) (restore func()) {
	old := parseTimeout
	parseTimeout = d
	return func() { parseTimeout = old }
}
