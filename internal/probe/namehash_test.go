package probe

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Raw Name parts, built by hand so that the string types and the order of
// a multi-valued RDN are what the test says (encoding/asn1 would pick and
// sort them).
func ava(oid asn1.ObjectIdentifier, tag byte, value string) []byte {
	o, err := asn1.Marshal(oid)
	if err != nil {
		panic(err)
	}
	return derTLV(0x30, append(o, derTLV(tag, []byte(value))...))
}

func rdn(avas ...[]byte) []byte     { return derTLV(0x31, bytes.Join(avas, nil)) }
func rawName(rdns ...[]byte) []byte { return derTLV(0x30, bytes.Join(rdns, nil)) }

var (
	oidCN     = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidO      = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOU     = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidEmail  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

const (
	tagUTF8, tagPrintable, tagT61, tagIA5, tagBMP, tagNumeric = 0x0c, 0x13, 0x14, 0x16, 0x1e, 0x12
)

// hashNames are subjects that exercise each step of the canonical form.
var hashNames = map[string][]byte{
	"empty":                       rawName(),
	"mixed case and whitespace":   rawName(rdn(ava(oidO, tagPrintable, "  Example   ORG ")), rdn(ava(oidCN, tagUTF8, "\tMail \n\v\f\r Relay\t"))),
	"multi-valued RDN, reordered": rawName(rdn(ava(oidCN, tagUTF8, "ac"), ava(oidCN, tagPrintable, "   Ab"))),
	"IA5String emailAddress":      rawName(rdn(ava(oidEmail, tagIA5, " PostMaster@Example.ORG ")), rdn(ava(oidCN, tagPrintable, "Mail CA"))),
	"non-ASCII UTF8String":        rawName(rdn(ava(oidCN, tagUTF8, "  Ünïcode  ÉCOLE Straße  "))),
	"T61String as Latin-1":        rawName(rdn(ava(oidOU, tagT61, "Caf\xe9  CR\xc8ME"))),
	"BMPString":                   rawName(rdn(ava(oidCN, tagBMP, "\x00 \x00H\x00i\x00 \x00 \x00\xc9\x00 "))),
	"NumericString left as it is": rawName(rdn(ava(oidSerial, tagNumeric, " 12  34 ")), rdn(ava(oidCN, tagUTF8, "X"))),
}

// TestNameHashCanon: names that OpenSSL's canonical form makes equal
// (case, whitespace, string type) hash alike, and others do not.
func TestNameHashCanon(t *testing.T) {
	h := func(name []byte) uint32 {
		t.Helper()
		v, ok := nameHash(name)
		if !ok {
			t.Fatalf("no hash for % x", name)
		}
		return v
	}
	same := h(rawName(rdn(ava(oidCN, tagUTF8, "mail relay"))))
	for _, v := range []string{"Mail Relay", "  MAIL   RELAY\t", "mail\r\nrelay"} {
		for _, tag := range []byte{tagUTF8, tagPrintable, tagIA5} {
			if got := h(rawName(rdn(ava(oidCN, tag, v)))); got != same {
				t.Errorf("CN %q (tag %#x): %08x, want %08x", v, tag, got, same)
			}
		}
	}
	for _, v := range []string{"mailrelay", "mail relay.", "máil relay"} {
		if got := h(rawName(rdn(ava(oidCN, tagUTF8, v)))); got == same {
			t.Errorf("CN %q hashes as \"mail relay\"", v)
		}
	}
	if got := h(rawName(rdn(ava(oidCN, tagNumeric, "mail relay")))); got == same {
		t.Error("a NumericString hashes as a UTF8String")
	}
	if _, ok := nameHash(rawName(rdn(ava(oidCN, tagUTF8, "\xff")))); ok {
		t.Error("invalid UTF-8 hashed")
	}
}

// TestNameHashMatchesOpenSSL compares nameHash with `openssl x509
// -subject_hash`, which names the links of c_rehash and
// update-ca-certificates, for the system's roots and for generated subjects.
func TestNameHashMatchesOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed: nameHash cannot be compared with X509_NAME_hash")
	}
	type cert struct {
		what string
		der  []byte
	}
	var certs []cert
	for rest := systemPEM(t); ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, cert{"system root " + c.Subject.String(), b.Bytes})
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for what, name := range hashNames {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			RawSubject:   name,
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		certs = append(certs, cert{what, der})
	}

	// An openssl process per certificate, a few at a time.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 2*runtime.NumCPU())
	for _, c := range certs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			subj, ok := rawSubject(c.der)
			if !ok {
				t.Errorf("%s: no subject", c.what)
				return
			}
			cmd := exec.Command("openssl", "x509", "-subject_hash", "-noout")
			cmd.Stdin = bytes.NewReader(pem.EncodeToMemory(certBlock(c.der)))
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("%s: openssl x509 -subject_hash: %v", c.what, err)
				return
			}
			h, ok := nameHash(subj)
			if got, want := fmt.Sprintf("%08x", h), strings.TrimSpace(string(out)); !ok || got != want {
				t.Errorf("%s: nameHash %s (ok %v), openssl %s", c.what, got, ok, want)
			}
		})
	}
	wg.Wait()
	t.Logf("%d certificates compared", len(certs))
}
