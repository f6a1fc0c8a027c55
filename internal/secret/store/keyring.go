package store

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/99designs/keyring"
	libsecret "github.com/gsterjov/go-libsecret"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/store/dbusguard"
)

// readKeyring is keyring:SERVICE/KEY through the one backend
// --keyring-backend names (AllowedBackends is never left open: keyring.Open
// would otherwise fall through to whatever backend opens).
func (o opts) readKeyring(ctx context.Context, rest string) (string, error) {
	service, key, err := o.KeyringRef(rest)
	if err != nil {
		return "", err
	}
	backend := o.KeyringBackend
	cfg := keyring.Config{
		AllowedBackends: []keyring.BackendType{keyring.BackendType(backend)},
		ServiceName:     service,
	}
	where := fmt.Sprintf("%s/%s (backend %s)", service, key, backend)
	switch backend {
	case "file":
		if o.KeyringDir == "" {
			return "", secret.Fail("keyring", where+": the file backend needs --keyring-dir", nil)
		}
		if o.KeyringPassphrase == "" {
			return "", secret.Fail("keyring", where+": the file backend needs --keyring-passphrase-ref (env:NAME or file:PATH)", nil)
		}
		// keyring would create a missing directory: a check only reads.
		if st, err := os.Stat(o.KeyringDir); err != nil || !st.IsDir() {
			return "", secret.Fail("keyring", where+": --keyring-dir "+o.KeyringDir+" is not a directory", errors.Join(err, secret.ErrNotFound))
		}
		pass, err := secret.ResolveLocal("--keyring-passphrase-ref", o.KeyringPassphrase)
		if err != nil {
			return "", err
		}
		cfg.FileDir = o.KeyringDir
		cfg.FilePasswordFunc = keyring.FixedStringPrompt(pass) // never a prompt
	case "keyctl":
		cfg.KeyCtlScope = o.KeyctlScope
		if cfg.KeyCtlScope == "" {
			cfg.KeyCtlScope = "user"
		}
	case "pass":
		// The library ignores ServiceName for pass; SERVICE is the folder.
		cfg.PassPrefix = service
	case "secret-service":
		// The library uses ServiceName as the collection name and matches
		// items by their "profile" attribute, which is KEY.
		if v := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); v == dbusguard.Disabled {
			return "", secret.Fail("keyring", where+": no D-Bus session bus: set DBUS_SESSION_BUS_ADDRESS", nil)
		}
	default:
		return "", secret.Fail("keyring", where+": unknown backend: want file, keyctl, pass or secret-service", nil)
	}
	if !available(keyring.BackendType(backend)) {
		msg := "backend not available in this process"
		switch backend {
		case "secret-service":
			msg = "no D-Bus session bus answered at " + secret.Quote(os.Getenv("DBUS_SESSION_BUS_ADDRESS")) + " when the program started: check DBUS_SESSION_BUS_ADDRESS"
		case "pass":
			msg = "the pass program is not installed"
		}
		return "", secret.Fail("keyring", where+": "+msg, nil)
	}

	// keyring's calls take no context and may block (a secret-service
	// prompt waits forever, gpg may wait for pinentry): run them aside and
	// stop waiting at the deadline.
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := o.keyringGet(ctx, cfg, service, key, where)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return "", secret.Fail("keyring", where+": "+secret.CtxMsg(ctx, ctx.Err()), ctx.Err())
	}
}

func available(b keyring.BackendType) bool {
	for _, a := range keyring.AvailableBackends() {
		if a == b {
			return true
		}
	}
	return false
}

func (o opts) keyringGet(ctx context.Context, cfg keyring.Config, service, key, where string) (string, error) {
	kr, err := keyring.Open(cfg)
	if err != nil {
		return "", secret.Fail("keyring", where+": cannot open: "+secret.OneLine(err.Error()), err)
	}
	item, err := kr.Get(key)
	backend := cfg.AllowedBackends[0]
	switch {
	case errors.Is(err, keyring.ErrKeyNotFound):
		return "", secret.Fail("keyring", fmt.Sprintf("no key %s in %s (backend %s)", key, service, backend), errors.Join(err, secret.ErrNotFound))
	case err != nil && isJSONErr(err) && backend == keyring.PassBackend:
		// A plain `pass insert` entry, not keyring's JSON: pass's own
		// convention is that the first line is the password.
		return passFirstLine(ctx, filepath.Join(service, key), where)
	case err != nil && isJSONErr(err) && backend == keyring.SecretServiceBackend:
		// An item stored by secret-tool or another program: its value is
		// the secret itself, not keyring's JSON.
		return secretServiceRaw(service, key, where)
	case err != nil && isJSONErr(err):
		// json's messages quote the offending byte of the value: say less.
		return "", secret.Fail("keyring", where+": the stored item is not in the keyring library's format", nil)
	case err != nil && backend == keyring.FileBackend && strings.Contains(err.Error(), "integrity check failed"):
		return "", secret.Fail("keyring", where+": cannot decrypt: wrong passphrase?", err)
	case err != nil:
		// Library messages carry no secret values; flatten them.
		return "", secret.Fail("keyring", where+": "+secret.OneLine(err.Error()), err)
	}
	v := strings.TrimRight(string(item.Data), "\r\n")
	if v == "" {
		return "", secret.Fail("keyring", where+": the value is empty", secret.ErrNotFound)
	}
	return v, nil
}

// passFirstLine runs `pass show NAME` under ctx and returns the first line.
func passFirstLine(ctx context.Context, name, where string) (string, error) {
	cmd := exec.CommandContext(ctx, "pass", "show", name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 160 {
			msg = msg[:160] + "..."
		}
		if msg == "" {
			msg = err.Error()
		}
		return "", secret.Fail("keyring", where+": pass show: "+secret.OneLine(msg), err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	line = strings.TrimRight(line, "\r")
	for i := range out {
		out[i] = 0
	}
	if line == "" {
		return "", secret.Fail("keyring", where+": first line of the pass entry is empty", secret.ErrNotFound)
	}
	return line, nil
}

func isJSONErr(err error) bool {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	return errors.As(err, &syn) || errors.As(err, &typ) || errors.Is(err, io.ErrUnexpectedEOF)
}

// secretServiceRaw reads an item's value as it is, for items not written by
// the keyring library, matching the collection and the "profile" attribute
// the way keyring does.
func secretServiceRaw(collection, key, where string) (string, error) {
	svc, err := libsecret.NewService()
	if err != nil {
		return "", secret.Fail("keyring", where+": "+secret.OneLine(err.Error()), err)
	}
	sess, err := svc.Open()
	if err != nil {
		return "", secret.Fail("keyring", where+": "+secret.OneLine(err.Error()), err)
	}
	cols, err := svc.Collections()
	if err != nil {
		return "", secret.Fail("keyring", where+": "+secret.OneLine(err.Error()), err)
	}
	want := libsecret.DBusPath + "/collection/" + collection
	for _, c := range cols {
		if decodeObjectPath(string(c.Path())) != want {
			continue
		}
		items, err := c.SearchItems(key)
		if err != nil || len(items) == 0 {
			break
		}
		item := items[0]
		if locked, err := item.Locked(); err == nil && locked {
			if err := svc.Unlock(item); err != nil {
				return "", secret.Fail("keyring", where+": cannot unlock: "+secret.OneLine(err.Error()), err)
			}
		}
		s, err := item.GetSecret(sess)
		if err != nil {
			return "", secret.Fail("keyring", where+": "+secret.OneLine(err.Error()), err)
		}
		line, _, _ := strings.Cut(string(s.Value), "\n")
		line = strings.TrimRight(line, "\r")
		if line == "" {
			return "", secret.Fail("keyring", where+": the value is empty", secret.ErrNotFound)
		}
		return line, nil
	}
	return "", secret.Fail("keyring", where+": the stored item cannot be read", nil)
}

// decodeObjectPath undoes the _XX escaping of D-Bus object paths (as
// keyring's decodeKeyringString does).
func decodeObjectPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && i+2 < len(s) {
			if v, err := hex.DecodeString(s[i+1 : i+3]); err == nil {
				b.Write(v)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// StoreFileKeyring writes value under key into the file backend at dir
// (created with mode 0700 if missing), encrypted with passphrase: what a
// provisioning command needs, since Debian has no CLI for this format.
// keyring:ANY/KEY with --keyring-backend=file --keyring-dir=DIR reads it
// (the file backend ignores SERVICE).
func StoreFileKeyring(dir, passphrase, key, value string) error {
	if dir == "" || passphrase == "" || key == "" || value == "" {
		return secret.Fail("keyring", "store: directory, passphrase, key and value must not be empty", nil)
	}
	kr, err := keyring.Open(keyring.Config{
		AllowedBackends:  []keyring.BackendType{keyring.FileBackend},
		FileDir:          dir,
		FilePasswordFunc: keyring.FixedStringPrompt(passphrase),
	})
	if err != nil {
		return secret.Fail("keyring", "store in "+dir+": "+secret.OneLine(err.Error()), err)
	}
	if err := kr.Set(keyring.Item{Key: key, Data: []byte(value)}); err != nil {
		return secret.Fail("keyring", "store "+key+" in "+dir+": "+secret.OneLine(err.Error()), err)
	}
	return nil
}
