package main

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// tlsWallTarget: a full audit by check_smtp_tls should cost at most this
// fraction of check_ssl_cert's median wall time.
const tlsWallTarget = 0.05

// runTLS measures, interleaved and in rotating order, a full audit by
// check_smtp_tls, check_ssl_cert with the certificate checks a user of a
// private CA would run (nothing that reaches the internet: no OCSP, CRL
// or SCT look-ups), and check_smtp's certificate-age check.
func runTLS(ours, sslCert, checkSMTP, target, ca, name string, n, warmup int, maxTime time.Duration) error {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("-target %q: %v", target, err)
	}
	if ca == "" {
		return errors.New("-mode tls needs -ca FILE (the CA of the server's chain)")
	}
	cs := []*contender{
		{name: "check_smtp_tls", bin: ours, args: []string{"-H", host, "-p", port, "-S", "--ca-file", ca, "-w", "30", "-c", "14", "--scan-versions", "-t", "10"}},
		// --ignore-ocsp and --ignore-sct keep it off the network (CRL checks
		// are off unless --crl); name, chain, expiry, signature algorithm and
		// renegotiation are still checked, as by default.
		{name: "check_ssl_cert", bin: sslCert, args: []string{"-H", host, "-p", port, "-P", "smtp", "--rootcert-file", ca,
			"--ignore-ocsp", "--ignore-sct", "-w", "30", "-c", "14", "-t", "30"}},
		{name: "check_smtp -S -D", bin: checkSMTP, args: []string{"-H", host, "-p", port, "-S", "-D", "30,14", "-t", "10"}},
	}
	if name != "" {
		cs[0].args = append(cs[0].args, "--verify-name", name)
		cs[1].args = append(cs[1].args, "-m", name)
	}
	for _, c := range cs {
		c.s.judged = true // a WARNING or CRITICAL verdict is a completed audit
	}
	rounds := compete(cs, n, warmup, maxTime)
	fmt.Printf("TLS audit of %s (STARTTLS), %d interleaved rounds\n", target, rounds)
	table(cs, cs[1], rounds)
	ref := cs[1]
	if len(cs[0].s.wall) == 0 || cs[0].s.fails > 0 {
		return errors.New("check_smtp_tls failed")
	}
	if len(ref.s.wall) == 0 {
		fmt.Println("\ntarget: n/a (check_ssl_cert never succeeded)")
		return nil
	}
	r := pct(cs[0].s.wall, 50) / pct(ref.s.wall, 50)
	fmt.Printf("\ntarget: check_smtp_tls median ≤ %.2f× check_ssl_cert's: %s (%.3f×)\n", tlsWallTarget, verdict(r <= tlsWallTarget), r)
	return nil
}
