package securitycheck

import (
	"regexp"
	"sync"
)

// softwareRe finds an MTA's name, and its version when one follows, in a
// greeting, an EHLO reply or HELP text. Compiled when an audit first needs
// it, not at every start (-V, a usage error).
var softwareRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)\b(Postfix|Exim|Sendmail|qmail|Microsoft ESMTP MAIL Service|Haraka|OpenSMTPD|Zimbra|Courier|MDaemon|Kerio Connect|hMailServer|IceWarp|Apache James|Exchange Server)\b(?:[ /v:]*(\d+(?:\.\d+)+[\w.-]*))?`)
})

// software is the name (and version) a text discloses; "" when none. A
// name inside a host name (mail.exim.example) discloses nothing; a match
// with a version wins over one without.
func software(text string) string {
	found := ""
	for _, m := range softwareRe().FindAllStringSubmatchIndex(text, -1) {
		if inHostName(text, m[2], m[3]) {
			continue
		}
		name := text[m[2]:m[3]]
		if m[4] >= 0 {
			return name + " " + text[m[4]:m[5]]
		}
		if found == "" {
			found = name
		}
	}
	return found
}

// inHostName reports whether text[i:j] is a label of a dotted name.
func inHostName(text string, i, j int) bool {
	label := func(b byte) bool { return b == '-' || b >= '0' && b <= '9' || b|0x20 >= 'a' && b|0x20 <= 'z' }
	return i > 0 && text[i-1] == '.' || j+1 < len(text) && text[j] == '.' && label(text[j+1])
}
