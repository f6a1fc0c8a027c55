package cloud

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// maxAnswer bounds what is read of any answer (a secret is at most 64 KiB
// in Secrets Manager, 25 KiB in Key Vault): a faulty or hostile endpoint
// cannot make the helper hold more.
const maxAnswer = 1 << 20

var errTooBig = errors.New("the answer is over 1 MiB: not a secret store's (a proxy or another service at the endpoint?)")

// doer is what both SDKs send requests through (aws.HTTPClient and
// azcore's policy.Transporter).
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// cappedClient caps the body of every answer at maxAnswer, and registers
// in seen what each request carried to prove who sent it (the whole
// Authorization header, a SigV4 signature, a session token): an endpoint
// or proxy that echoes them must not get them into a message.
type cappedClient struct {
	inner doer
	seen  *redact.Set
}

func (c cappedClient) Do(req *http.Request) (*http.Response, error) {
	auth := req.Header.Get("Authorization")
	c.seen.Add(auth)
	if _, sig, ok := strings.Cut(auth, "Signature="); ok {
		c.seen.Add(sig)
	}
	c.seen.Add(req.Header.Get("X-Amz-Security-Token"))
	req, err := ownBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.inner.Do(req)
	if resp != nil && resp.Body != nil {
		resp.Body = &cappedBody{ReadCloser: resp.Body, left: maxAnswer}
	}
	return resp, err
}

// ownBody gives the transport a copy of req's body (a few hundred bytes of
// JSON or form) that only the transport closes. The transport is not done
// with a body when the last byte is sent, and on loopback the answer can
// be back before it is; the AWS SDK then closes its own body, the
// transport's write of the request ends in EOF, and it drops the
// connection in the middle of the answer ("use of closed network
// connection", 1 run in 8 against a local stand-in; httptrace showed the
// EOF).
func ownBody(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	b, err := io.ReadAll(io.LimitReader(req.Body, maxAnswer))
	_ = req.Body.Close()
	if err != nil {
		return nil, err
	}
	own := req.Clone(req.Context())
	own.Body = io.NopCloser(bytes.NewReader(b))
	own.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return own, nil
}

type cappedBody struct {
	io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooBig
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more tells "at the cap" from "over it"
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n - 1, errTooBig
	}
	return n, err
}

// maxText caps a library's or a service's message.
const maxText = 240

// capText is a library's or a service's message on one line, scrubbed of
// what scrub holds (nil: nothing yet) before it is cut, so that no start of
// a long token survives the cut; control characters (a terminal's escapes)
// become '?', and the cut falls between characters.
func capText(scrub *redact.Set, s string) string {
	if scrub != nil {
		s = scrub.Scrub(s)
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, secret.OneLine(s))
	if len(s) <= maxText {
		return s
	}
	cut := maxText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
