package maildns

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/hostdns"
	"github.com/smtpcheck/smtpcheck/internal/httpsget"
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
	ans, err := c.Query(ctx, s.TXTName, TypeTXT)
	s.TXTServer, s.Lookup = ans.Server, time.Since(began)
	switch {
	case err != nil:
		s.TXTErr, s.Timeout = err, err == ErrTimeout
		return s
	case ans.Rcode == hostdns.RcodeNXDomain: // the domain has no MTA-STS: nothing to advise
		s.TXTErr, s.NoRecord = fmt.Errorf("%s (asked %s)", hostdns.Meaning(ans.Rcode), ans.Server), true
		return s
	case ans.Rcode != hostdns.RcodeSuccess:
		s.TXTErr = fmt.Errorf("%s (asked %s) - %s", hostdns.Meaning(ans.Rcode), ans.Server, hostdns.RcodeAdvice(ans.Rcode))
		return s
	}
	txts := TXT(ans)
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
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
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
func TXT(a Answer) []string {
	var txts []string
	for _, rr := range a.Records {
		if rr.Type == TypeTXT {
			txts = append(txts, strings.Join(rr.TXT, ""))
		}
	}
	return txts
}

// FetchSTSPolicy GETs the policy over HTTPS. The certificate must be valid
// for mta-sts.DOMAIN whatever policyURL points at (RFC 8461 §3.3), and
// trusted by roots or the system's; redirects are not followed (§3.3).
// Names are resolved like -H (so --dns-server applies) and no proxy is used.
// The request is internal/httpsget's, not net/http's: the plugins that
// fetch a policy would link 1 MB and half a MiB of RSS for this one GET.
func (c Client) FetchSTSPolicy(ctx context.Context, domain, policyURL string, bundle *probe.Roots) (string, error) {
	roots, err := bundle.Pool() // nil without --ca-file: the system roots
	if err != nil {
		return "", err
	}
	u, err := url.Parse(policyURL)
	if err != nil {
		return "", err
	}
	name := "mta-sts." + domain
	cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12,
		// Verified by VerifyChain, which reads the system roots bounded:
		// given no RootCAs, crypto/x509 would read $SSL_CERT_FILE itself,
		// a FIFO or /dev/zero without end.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := probe.VerifyChain(ctx, cs.PeerCertificates, name, roots); err != nil {
				return fmt.Errorf("tls: failed to verify certificate: %w", err) // as crypto/tls says it
			}
			return nil
		},
	}
	resp, err := httpsget.Get(ctx, httpsget.Request{URL: u, Dial: c.dial, TLS: cfg,
		UserAgent: "smtpcheck/" + plugin.VersionString() + " (MTA-STS policy fetch)"})
	if err != nil {
		var de *net.DNSError
		switch {
		case errors.As(err, &de):
			return "", fmt.Errorf("%s: %s (asked %s): publish its address, or check the name", de.Name, de.Err, c.ResolverName())
		case errors.Is(err, context.DeadlineExceeded):
			return "", err
		}
		return "", fmt.Errorf("%s", plugin.PlainErr(err))
	}
	defer resp.Close()
	if resp.StatusCode != 200 {
		status := plugin.Sanitize(resp.Status, plugin.MaxTextLen)
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode/100 == 3 {
			return "", fmt.Errorf("HTTP %s, a redirect to %s (RFC 8461 §3.3: not followed)", status, plugin.Sanitize(loc, plugin.MaxTextLen))
		}
		return "", fmt.Errorf("HTTP %s", status)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "text/plain") {
		// Server text: sanitised and capped like the status (a hostile
		// server's 60 KiB Content-Type would otherwise fill the output).
		return "", fmt.Errorf("Content-Type %q, not text/plain (RFC 8461 §3.2)", plugin.Sanitize(ct, plugin.MaxTextLen))
	}
	body, err := resp.ReadBody(MaxPolicy)
	var be *httpsget.BodyError
	switch {
	case err == nil:
		return string(body), nil
	case errors.Is(err, httpsget.ErrTooLarge):
		return "", fmt.Errorf("the policy is larger than %d KiB", MaxPolicy>>10)
	case errors.As(err, &be):
		return "", fmt.Errorf("reading the body: %s", plugin.PlainErr(be.Err))
	}
	return "", err
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
