package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"time"
)

// runAuth compares a LOGIN over STARTTLS by check_smtp_auth with
// check_smtp -S -A LOGIN -U -P against the same real submission server.
// Ours reads the password from a file: reference and verifies the
// certificate against ca; check_smtp takes it on argv and verifies nothing.
// A third row, check_smtp_conn with check_smtp's own flags, shows what the
// secret-reading binary costs over the plain one.
func runAuth(ours, conn, checkSMTP, target, ca, name, user, pwFile string, n, warmup int, maxTime time.Duration) error {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("-target %q: %v", target, err)
	}
	if ca == "" || user == "" || pwFile == "" {
		return errors.New("-mode auth needs -ca FILE, -user NAME and -password-file FILE")
	}
	pw, err := os.ReadFile(pwFile)
	if err != nil {
		return err
	}
	legacy := []string{"-H", host, "-p", port, "-S", "-A", "LOGIN", "-U", user, "-P", strings.TrimSpace(string(pw))}
	cs := []*contender{
		{name: "check_smtp_auth", bin: ours, args: []string{"-H", host, "-p", port, "-S", "--mech", "LOGIN",
			"--user", user, "--password-ref", "file:" + pwFile, "--ca-file", ca}},
		{name: "check_smtp -A LOGIN", bin: checkSMTP, args: legacy},
		// check_smtp's flags, plus the CA: it sends credentials only to a
		// server whose certificate verifies.
		{name: "check_smtp_conn -A", bin: conn, args: append(slices.Clone(legacy), "--ca-file", ca)},
	}
	if name != "" {
		cs[0].args = append(cs[0].args, "--verify-name", name)
		cs[2].args = append(cs[2].args, "--verify-name", name)
	}
	rounds := compete(cs, n, warmup, maxTime)
	fmt.Printf("AUTH LOGIN over STARTTLS at %s, %d interleaved rounds\n", target, rounds)
	table(cs, cs[1], rounds)
	if len(cs[0].s.wall) == 0 || cs[0].s.fails > 0 {
		return errors.New("check_smtp_auth failed")
	}
	if len(cs[1].s.wall) == 0 {
		fmt.Println("\ntarget: n/a (check_smtp never succeeded)")
		return nil
	}
	r := pct(cs[0].s.wall, 50) / pct(cs[1].s.wall, 50)
	fmt.Printf("per-round ratio check_smtp_auth/check_smtp: median %.3f×\n", roundRatio(cs[0], cs[1]))
	fmt.Printf("\ntarget: check_smtp_auth median ≤ %.2f× check_smtp's: %s (%.3f×)\n", wallTarget, verdict(r <= wallTarget), r)
	return nil
}
