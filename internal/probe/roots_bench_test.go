package probe

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"testing"
)

// BenchmarkRootsFor compares picking the roots a chain names from the system
// bundle with loading the whole system pool, which is what a plain
// x509.Verify without Roots costs a one-shot process.
func BenchmarkRootsFor(b *testing.B) {
	data := systemPEM(b)
	block, _ := pem.Decode(data)
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	chain := []*x509.Certificate{root}
	b.Run("find the blocks and their subjects (preloaded in the background)", func(b *testing.B) {
		for b.Loop() {
			if len(splitRoots(data)) == 0 {
				b.Fatal("no certificates")
			}
		}
	})
	b.Run("decode every block (before)", func(b *testing.B) {
		for b.Loop() {
			for _, r := range splitRoots(data) {
				if r.der() == nil {
					b.Fatal("a block does not decode")
				}
			}
		}
	})
	b.Run("pick the chain's roots", func(b *testing.B) {
		for b.Loop() {
			if _, err := SystemRootsFor(context.Background(), chain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole bundle parsed", func(b *testing.B) {
		for b.Loop() {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(data) {
				b.Fatal("no certificates")
			}
		}
	})
}
