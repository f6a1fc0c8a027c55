package probe

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"slices"
	"unicode/utf8"
)

// nameHash is OpenSSL's X509_NAME_hash of a raw Name (the DER of its
// SEQUENCE OF RDN), as `openssl x509 -subject_hash` prints it and as
// c_rehash and update-ca-certificates name a directory's links to a
// certificate (<hash>.0, .1 ...). It reproduces x509_name_canon and
// asn1_string_canon of OpenSSL's crypto/x509/x_name.c (1.0 to 3.x): each
// RDN is re-encoded as a DER SET OF its AVAs, string values as lowercased
// UTF8Strings with whitespace trimmed and collapsed, and the SETs are
// concatenated without the outer SEQUENCE; the hash is the first 4 bytes of
// their SHA-1, little-endian. ok is false for what OpenSSL cannot hash
// either (a malformed name, a string that does not convert to UTF-8; a
// surrogate, which OpenSSL would copy, is refused too).
func nameHash(name []byte) (hash uint32, ok bool) {
	rdns, ok := derEnter(name, false)
	if !ok || len(name) == 0 || name[0] != 0x30 {
		return 0, false
	}
	var canon []byte
	for len(rdns) > 0 {
		var set []byte
		if set, rdns, ok = derElem(rdns); !ok || set[0] != 0x31 {
			return 0, false
		}
		avas, _ := derEnter(set, false)
		var enc [][]byte
		for len(avas) > 0 {
			var ava []byte
			if ava, avas, ok = derElem(avas); !ok || ava[0] != 0x30 {
				return 0, false
			}
			fields, _ := derEnter(ava, false)
			oid, value, ok := derElem(fields)
			if !ok || oid[0] != 0x06 || len(value) == 0 {
				return 0, false
			}
			if value, ok = canonValue(value); !ok {
				return 0, false
			}
			enc = append(enc, derTLV(0x30, slices.Concat(oid, value)))
		}
		slices.SortFunc(enc, bytes.Compare) // DER's order of a SET OF
		canon = append(canon, derTLV(0x31, bytes.Join(enc, nil))...)
	}
	sum := sha1.Sum(canon)
	return binary.LittleEndian.Uint32(sum[:4]), true
}

// canonValue is asn1_string_canon of one AVA value (a whole DER element).
func canonValue(elem []byte) ([]byte, bool) {
	hdr, n, ok := derHeader(elem)
	if !ok || len(elem) != hdr+n {
		return nil, false
	}
	s := elem[hdr:]
	var u []byte // the value in UTF-8
	switch elem[0] {
	case 0x0c: // UTF8String
		if !utf8.Valid(s) {
			return nil, false
		}
		u = s
	case 0x13, 0x14, 0x16, 0x1a: // Printable, T61 (as Latin-1), IA5, Visible
		for _, c := range s {
			u = utf8.AppendRune(u, rune(c))
		}
	case 0x1e, 0x1c: // BMPString (UCS-2), UniversalString (UCS-4)
		w := 2
		if elem[0] == 0x1c {
			w = 4
		}
		if len(s)%w != 0 {
			return nil, false
		}
		for i := 0; i < len(s); i += w {
			r := rune(binary.BigEndian.Uint16(s[i:]))
			if w == 4 {
				r = rune(binary.BigEndian.Uint32(s[i:]))
			}
			if !utf8.ValidRune(r) {
				return nil, false
			}
			u = utf8.AppendRune(u, r)
		}
	default:
		return elem, true
	}
	space := func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' }
	for len(u) > 0 && space(u[0]) {
		u = u[1:]
	}
	for len(u) > 0 && space(u[len(u)-1]) {
		u = u[:len(u)-1]
	}
	out := make([]byte, 0, len(u))
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case space(c):
			out = append(out, ' ')
			for i+1 < len(u) && space(u[i+1]) {
				i++
			}
		case 'A' <= c && c <= 'Z':
			out = append(out, c+'a'-'A')
		default:
			out = append(out, c)
		}
	}
	return derTLV(0x0c, out), true
}

// derTLV encodes a DER element of tag and content.
func derTLV(tag byte, content []byte) []byte {
	n := len(content)
	b := []byte{tag}
	switch {
	case n < 0x80:
		b = append(b, byte(n))
	case n < 0x100:
		b = append(b, 0x81, byte(n))
	case n < 0x10000:
		b = append(b, 0x82, byte(n>>8), byte(n))
	default:
		b = append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, content...)
}
