package tlsaudit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// STSRecord is the _mta-sts TXT record (RFC 8461 §3.1).
type STSRecord struct {
	ID string
}

// ParseSTSRecords picks the MTA-STS record out of the TXT strings at
// _mta-sts.DOMAIN: exactly one must start with "v=STSv1" (§3.1: more than
// one means no policy), and it must carry an id of 1 to 32 letters and digits.
func ParseSTSRecords(txts []string) (STSRecord, error) {
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(t, "v=STSv1;") || t == "v=STSv1" {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return STSRecord{}, errors.New("no TXT record starting with v=STSv1")
	case 1:
	default:
		return STSRecord{}, fmt.Errorf("%d TXT records start with v=STSv1; RFC 8461 §3.1 treats that as no policy", len(found))
	}
	var rec STSRecord
	for _, f := range strings.Split(found[0], ";")[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		if k == "id" {
			rec.ID = v
		}
	}
	if rec.ID == "" || len(rec.ID) > 32 || strings.TrimFunc(rec.ID, isAlnum) != "" {
		return STSRecord{}, fmt.Errorf("record %q lacks a valid id (1 to 32 letters and digits)", found[0])
	}
	return rec, nil
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

// STSPolicy is a parsed MTA-STS policy (RFC 8461 §3.2).
type STSPolicy struct {
	Version string
	Mode    string // enforce, testing or none
	MX      []string
	MaxAge  int // seconds
}

// maxSTSAge is RFC 8461's ceiling for max_age: 31557600 s, a year.
const maxSTSAge = 31557600

// ParseSTSPolicy parses the body of .well-known/mta-sts.txt.
func ParseSTSPolicy(body string) (STSPolicy, error) {
	var p STSPolicy
	maxAge := ""
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return p, fmt.Errorf("line %q is not key: value", line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			p.Version = v
		case "mode":
			p.Mode = v
		case "mx":
			p.MX = append(p.MX, strings.ToLower(strings.TrimSuffix(v, ".")))
		case "max_age":
			maxAge = v
		}
	}
	if p.Version != "STSv1" {
		return p, fmt.Errorf("version is %q, not STSv1", p.Version)
	}
	switch p.Mode {
	case "enforce", "testing", "none":
	case "":
		return p, errors.New("no mode")
	default:
		return p, fmt.Errorf("unknown mode %q (want enforce, testing or none)", p.Mode)
	}
	n, err := strconv.Atoi(maxAge)
	if err != nil || n < 0 || n > maxSTSAge {
		return p, fmt.Errorf("max_age %q: want seconds from 0 to %d", maxAge, maxSTSAge)
	}
	p.MaxAge = n
	if len(p.MX) == 0 && p.Mode != "none" {
		return p, errors.New("no mx line")
	}
	return p, nil
}

// MatchMX returns the first mx pattern of the policy that host matches: a
// literal name, or "*.example.com" standing for exactly one leftmost label
// (RFC 8461 §4.1).
func (p STSPolicy) MatchMX(host string) (string, bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			label, parent, found := strings.Cut(host, ".")
			if found && label != "" && parent == rest {
				return pat, true
			}
			continue
		}
		if pat == host {
			return pat, true
		}
	}
	return "", false
}
