package smtp

import (
	"slices"
	"strconv"
	"strings"
)

// Extensions are the service extensions of an EHLO/LHLO reply, keyed by the
// upper-cased keyword, with the parameters as sent.
type Extensions map[string]string

// ParseEHLO splits an EHLO reply into the server's greeting domain and its
// extensions. The legacy "AUTH=LOGIN PLAIN" form is merged into AUTH.
func ParseEHLO(r Reply) (domain string, ext Extensions) {
	ext = Extensions{}
	if len(r.Lines) == 0 {
		return "", ext
	}
	domain, _, _ = strings.Cut(r.Lines[0], " ")
	for _, line := range r.Lines[1:] {
		line = strings.TrimSpace(line)
		kw, params, _ := strings.Cut(line, " ")
		kw = strings.ToUpper(kw)
		if len(line) >= len("AUTH=") && strings.EqualFold(line[:len("AUTH=")], "AUTH=") {
			params = strings.TrimSpace(line[len("AUTH="):])
			kw = "AUTH"
		}
		if kw == "" {
			continue
		}
		if old, ok := ext[kw]; ok && old != "" {
			params = strings.TrimSpace(old + " " + params)
		}
		ext[kw] = params
	}
	return domain, ext
}

// Has reports whether the keyword was advertised (case-insensitive).
func (e Extensions) Has(kw string) bool {
	_, ok := e[strings.ToUpper(kw)]
	return ok
}

// AuthMechanisms lists the advertised SASL mechanisms, upper-cased, without duplicates.
func (e Extensions) AuthMechanisms() []string {
	var out []string
	for _, m := range strings.Fields(strings.ToUpper(e["AUTH"])) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// Size returns the SIZE limit in bytes; ok is false when SIZE is absent or has no number.
func (e Extensions) Size() (n int64, ok bool) {
	v, has := e["SIZE"]
	if !has {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return n, err == nil && n >= 0
}

// Names returns the keywords in sorted order.
func (e Extensions) Names() []string {
	names := make([]string, 0, len(e))
	for k := range e {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
