package maildns

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
	"github.com/smtpcheck/smtpcheck/internal/probe"
	"github.com/smtpcheck/smtpcheck/internal/tlsaudit"
)

// STS is what the MTA-STS lookup and policy fetch returned.
type STS struct {
	Domain    string
	TXTName   string
	TXTServer string
	Record    tlsaudit.STSRecord
	TXTErr    error // no usable record
	NoRecord  bool  // the name does not exist (NXDOMAIN): the domain has no MTA-STS
	URL       string
	Policy    tlsaudit.STSPolicy
	FetchErr  error // the policy could not be fetched or parsed
	Timeout   bool

	// Lookup is the TXT query's duration, Fetch the policy's over HTTPS
	// (0 when not tried).
	Lookup, Fetch time.Duration
}

// MaxPolicy bounds the policy body; real ones are a few hundred bytes.
const MaxPolicy = 64 << 10

// LookupSTS reads _mta-sts.DOMAIN and then fetches the policy (RFC 8461
// §3) from base (https://mta-sts.DOMAIN unless a test names another),
// trusting roots (--ca-file; nil: the system's).
func (c Client) LookupSTS(ctx context.Context, domain, base string, roots *probe.Roots) *STS {
	s := &STS{Domain: domain, TXTName: "_mta-sts." + domain}
	began := time.Now()
	ans, err := c.Query(ctx, s.TXTName, dns.TypeTXT)
	s.TXTServer, s.Lookup = ans.Server, time.Since(began)
	switch {
	case err != nil:
		s.TXTErr, s.Timeout = err, err == ErrTimeout
		return s
	case ans.Msg.Rcode == dns.RcodeNameError: // the domain has no MTA-STS: nothing to advise
		s.TXTErr, s.NoRecord = fmt.Errorf("%s (asked %s)", hostdns.Meaning(ans.Msg.Rcode), ans.Server), true
		return s
	case ans.Msg.Rcode != dns.RcodeSuccess:
		s.TXTErr = fmt.Errorf("%s (asked %s) - %s", hostdns.Meaning(ans.Msg.Rcode), ans.Server, hostdns.RcodeAdvice(ans.Msg.Rcode))
		return s
	}
	txts := TXT(ans.Msg)
	if len(txts) == 0 {
		s.NoRecord = true
	}
	if s.Record, err = tlsaudit.ParseSTSRecords(txts); err != nil {
		s.TXTErr = fmt.Errorf("%v (asked %s)", err, ans.Server)
		return s
	}
	if base == "" {
		base = "https://mta-sts." + domain
	}
	s.URL = strings.TrimSuffix(base, "/") + "/.well-known/mta-sts.txt"
	began = time.Now()
	body, err := c.FetchSTSPolicy(ctx, domain, s.URL, roots)
	s.Fetch = time.Since(began)
	switch {
	case ctx.Err() != nil:
		s.FetchErr, s.Timeout = ErrTimeout, true
	case err != nil:
		s.FetchErr = err
	default:
		if s.Policy, err = tlsaudit.ParseSTSPolicy(body); err != nil {
			s.FetchErr = fmt.Errorf("the policy is invalid: %v", err)
		}
	}
	return s
}

// TXT are the TXT records of an answer, each one's strings joined (RFC
// 8461 §3.1, RFC 7208 §3.3).
func TXT(m *dns.Msg) []string {
	var txts []string
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			txts = append(txts, strings.Join(t.Txt, ""))
		}
	}
	return txts
}

// FetchSTSPolicy GETs the policy over HTTPS. The certificate must be valid
// for mta-sts.DOMAIN whatever policyURL points at (RFC 8461 §3.3), and
// trusted by roots or the system's; redirects are not followed (§3.3).
// Names are resolved like -H (so --dns-server applies) and no proxy is used.
func (c Client) FetchSTSPolicy(ctx context.Context, domain, policyURL string, bundle *probe.Roots) (string, error) {
	roots, err := bundle.Pool() // nil without --ca-file: the system roots
	if err != nil {
		return "", err
	}
	name := "mta-sts." + domain
	tr := &http.Transport{
		DialContext: c.dial,
		TLSClientConfig: &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12,
			// Verified by VerifyChain, which reads the system roots bounded:
			// given no RootCAs, crypto/x509 would read $SSL_CERT_FILE itself,
			// a FIFO or /dev/zero without end.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if err := probe.VerifyChain(cs.PeerCertificates, name, roots); err != nil {
					return fmt.Errorf("tls: failed to verify certificate: %w", err) // as crypto/tls says it
				}
				return nil
			},
		},
		DisableKeepAlives: true,
		ForceAttemptHTTP2: false,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, policyURL, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop Go's `Get "url":` prefix: the message names the URL itself
		}
		var de *net.DNSError
		if errors.As(err, &de) {
			return "", fmt.Errorf("%s: %s (asked %s): publish its address, or check the name", de.Name, de.Err, c.ResolverName())
		}
		return "", fmt.Errorf("%s", plugin.PlainErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if loc := resp.Header.Get("Location"); loc != "" {
			return "", fmt.Errorf("HTTP %s, a redirect to %s (RFC 8461 §3.3: not followed)", resp.Status, loc)
		}
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/plain" {
		return "", fmt.Errorf("Content-Type %q, not text/plain (RFC 8461 §3.2)", resp.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPolicy+1))
	if err != nil {
		return "", fmt.Errorf("reading the body: %s", plugin.PlainErr(err))
	}
	if len(body) > MaxPolicy {
		return "", fmt.Errorf("the policy is larger than %d KiB", MaxPolicy>>10)
	}
	return string(body), nil
}

// dial connects to the policy host; with --dns-server its address comes
// from that server alone, as -H's does.
func (c Client) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if c.Server == "" {
		return d.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	a, err := probe.Resolve(ctx, c.Resolver(), "ip", host)
	if err != nil {
		return nil, err
	}
	return d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
}
