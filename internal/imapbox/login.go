package imapbox

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"

	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/sasl"
	"github.com/smtpcheck/smtpcheck/internal/smtp"
)

// LoginCommand is the mechanism name for IMAP's own LOGIN command (rather
// than AUTHENTICATE).
const LoginCommand = "LOGIN"

// Login logs in with creds: a password by AUTHENTICATE PLAIN where offered,
// else by the LOGIN command; a token by XOAUTH2 or OAUTHBEARER, whichever
// the server offers (XOAUTH2 first, as Microsoft 365 offers only it). mech,
// when not "", is the mechanism to use (LoginCommand, or a SASL mechanism
// internal/sasl speaks). As check_smtp_auth does, it refuses to send
// credentials over a connection that is not encrypted, unless
// allowPlaintext, or whose certificate does not verify (unless the
// target's Insecure). Every secret it sends is registered with the
// session's redact.Set before it is sent; the server's refusal comes back
// as an *Error of Kind KindReply with its code and text.
func (b *Box) Login(ctx context.Context, creds sasl.Credentials, mech string, allowPlaintext bool) error {
	if b.Preauth {
		return nil
	}
	switch {
	case !b.Encrypted() && !allowPlaintext:
		return &Error{Phase: PhaseLogin, Kind: probe.KindUsage, Refused: RefuseNoTLS,
			Err: errors.New("credentials not sent: the IMAP connection is not encrypted")}
	case b.Encrypted() && b.VerifyErr != nil:
		return &Error{Phase: PhaseLogin, Kind: probe.KindTLS, Refused: RefuseUnverified,
			Err: fmt.Errorf("credentials not sent: the IMAP server's certificate does not verify: %w", b.VerifyErr)}
	}
	if mech == "" {
		mech = b.pickMech(creds)
	}
	if mech == "" {
		return &Error{Phase: PhaseLogin, Kind: probe.KindProtocol, Refused: RefuseNoMech,
			Err: fmt.Errorf("credentials not sent: the IMAP server offers no way to log in with %s (it offers: %v)", credKind(creds), b.c.Caps().AuthMechanisms())}
	}
	b.User = creds.User
	err := b.timed(ctx, PhaseLogin, func() error {
		if mech == LoginCommand {
			b.cfg.Redact.Add(creds.Password)
			b.cfg.Redact.Add(quotedEscapes.Replace(creds.Password)) // as a quoted string carries it
			return b.c.Login(creds.User, creds.Password).Wait()
		}
		client, err := sasl.New(mech, creds)
		if err != nil {
			return &Error{Phase: PhaseLogin, Kind: probe.KindUsage, Err: err}
		}
		if err := b.c.Authenticate(registering{client, b.cfg.Redact}); err != nil {
			return err
		}
		if err := sasl.Proven(client); err != nil {
			return &Error{Phase: PhaseLogin, Err: err}
		}
		return nil
	})
	if err != nil {
		return b.fail(ctx, PhaseLogin, err)
	}
	// Capabilities change at login (Dovecot sends the full list only now).
	b.Caps = capList(b.c.Caps())
	return nil
}

// quotedEscapes is how LOGIN's quoted string escapes a password.
var quotedEscapes = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// pickMech chooses how to log in with creds; "" when the server offers no way.
func (b *Box) pickMech(creds sasl.Credentials) string {
	offered := b.c.Caps().AuthMechanisms()
	if creds.Token != "" {
		prefs := sasl.TokenMechs
		if creds.User == "" {
			prefs = []string{sasl.OAuthBearer} // XOAUTH2 needs a user
		}
		return sasl.Choose(offered, prefs)
	}
	if m := sasl.Choose(offered, []string{sasl.Plain}); m != "" {
		return m
	}
	if b.has(imap.CapLoginDisabled) {
		return ""
	}
	return LoginCommand
}

func credKind(c sasl.Credentials) string {
	if c.Token != "" {
		return "an OAuth token"
	}
	return "a password"
}

// registering is a SASL client whose secrets, and each response that
// carries one, are registered before go-imap sends them: a server echoing
// one in its challenge or final text cannot get it into any output.
type registering struct {
	sasl.Client
	set *redact.Set
}

func (r registering) Start() (string, []byte, error) {
	mech, ir, err := r.Client.Start()
	r.register(ir)
	return mech, ir, err
}

func (r registering) Next(challenge []byte) ([]byte, error) {
	resp, err := r.Client.Next(challenge)
	r.register(resp)
	return resp, err
}

func (r registering) register(resp []byte) {
	if h, ok := r.Client.(smtp.SecretHolder); ok {
		for _, s := range h.Secrets() {
			r.set.Add(s)
		}
	}
	if p, ok := r.Client.(smtp.PublicResponder); !ok || !p.PublicResponse() {
		r.set.Add(string(resp))
	}
}
