package plugin

import (
	"fmt"
	"strings"

	"github.com/atc0005/go-nagios"
)

// State is a plugin state; its value is the exit code.
type State int

// The four plugin states.
const (
	OK       = State(nagios.StateOKExitCode)
	Warning  = State(nagios.StateWARNINGExitCode)
	Critical = State(nagios.StateCRITICALExitCode)
	Unknown  = State(nagios.StateUNKNOWNExitCode)
)

// String is the label, derived from the code so the two never disagree.
func (s State) String() string { return nagios.ExitCodeToStateLabel(int(s)) }

// severity orders states for "worst wins": CRITICAL > WARNING > UNKNOWN > OK,
// as monitoring-plugins' max_state_alt does. An UNKNOWN beside a real
// failure must not hide it.
func (s State) severity() int {
	switch s {
	case Critical:
		return 3
	case Warning:
		return 2
	case Unknown:
		return 1
	}
	return 0
}

// Worst returns the more severe state.
func Worst(a, b State) State {
	if b.severity() > a.severity() {
		return b
	}
	return a
}

// ParseState reads a state name (any case) or its number, as -t N:STATE takes.
func ParseState(s string) (State, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "OK", "0":
		return OK, nil
	case "WARNING", "WARN", "1":
		return Warning, nil
	case "CRITICAL", "CRIT", "2":
		return Critical, nil
	case "UNKNOWN", "3":
		return Unknown, nil
	}
	return Unknown, fmt.Errorf("unknown state %q (want OK, WARNING, CRITICAL or UNKNOWN)", s)
}
