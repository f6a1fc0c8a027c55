package tlscheck

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

// STSFacts is what the MTA-STS lookup and policy fetch returned.
type STSFacts struct {
	Domain    string
	TXTName   string
	TXTServer string
	Record    tlsaudit.STSRecord
	TXTErr    error // no usable record
	URL       string
	Policy    tlsaudit.STSPolicy
	FetchErr  error // the policy could not be fetched or parsed
	Timeout   bool

	// Lookup is the TXT query's duration, Fetch the policy's over HTTPS
	// (0 when not tried).
	Lookup, Fetch time.Duration
}

// maxPolicy bounds the policy body; real ones are a few hundred bytes.
const maxPolicy = 64 << 10

// lookupSTS reads _mta-sts.DOMAIN and then fetches the policy (RFC 8461 §3).
func (o *Options) lookupSTS(ctx context.Context) *STSFacts {
	s := &STSFacts{Domain: o.MTASTS, TXTName: "_mta-sts." + o.MTASTS}
	began := time.Now()
	ans, err := o.query(ctx, s.TXTName, dns.TypeTXT)
	s.TXTServer, s.Lookup = ans.Server, time.Since(began)
	switch {
	case err != nil:
		s.TXTErr, s.Timeout = err, err == errDNSTimeout
		return s
	case ans.Msg.Rcode == dns.RcodeNameError: // the domain has no MTA-STS: nothing to advise
		s.TXTErr = fmt.Errorf("%s (asked %s)", hostdns.Meaning(ans.Msg.Rcode), ans.Server)
		return s
	case ans.Msg.Rcode != dns.RcodeSuccess:
		s.TXTErr = fmt.Errorf("%s (asked %s) - %s", hostdns.Meaning(ans.Msg.Rcode), ans.Server, hostdns.RcodeAdvice(ans.Msg.Rcode))
		return s
	}
	var txts []string
	for _, rr := range ans.Msg.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			txts = append(txts, strings.Join(t.Txt, "")) // RFC 8461 §3.1: strings are joined
		}
	}
	if s.Record, err = tlsaudit.ParseSTSRecords(txts); err != nil {
		s.TXTErr = fmt.Errorf("%v (asked %s)", err, ans.Server)
		return s
	}
	s.URL = strings.TrimSuffix(o.stsBase(), "/") + "/.well-known/mta-sts.txt"
	began = time.Now()
	body, err := o.fetchPolicy(ctx, s.URL)
	s.Fetch = time.Since(began)
	switch {
	case ctx.Err() != nil:
		s.FetchErr, s.Timeout = errDNSTimeout, true
	case err != nil:
		s.FetchErr = err
	default:
		if s.Policy, err = tlsaudit.ParseSTSPolicy(body); err != nil {
			s.FetchErr = fmt.Errorf("the policy is invalid: %v", err)
		}
	}
	return s
}

func (o *Options) stsBase() string {
	if o.MTASTSURLBase != "" {
		return o.MTASTSURLBase
	}
	return "https://mta-sts." + o.MTASTS
}

// fetchPolicy GETs the policy over HTTPS. The certificate must be valid for
// mta-sts.DOMAIN whatever --mta-sts-url-base points at (RFC 8461 §3.3), and
// trusted by --ca-file or the system roots; redirects are not followed (§3.3).
// Names are resolved like -H (so --dns-server applies) and no proxy is used.
func (o *Options) fetchPolicy(ctx context.Context, policyURL string) (string, error) {
	roots, err := o.Roots().Pool() // nil without --ca-file: the system roots
	if err != nil {
		return "", err
	}
	name := "mta-sts." + o.MTASTS
	tr := &http.Transport{
		DialContext: o.dialPolicy,
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
			return "", fmt.Errorf("%s: %s (asked %s): publish its address, or check the name", de.Name, de.Err, o.resolverName())
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPolicy+1))
	if err != nil {
		return "", fmt.Errorf("reading the body: %s", plugin.PlainErr(err))
	}
	if len(body) > maxPolicy {
		return "", fmt.Errorf("the policy is larger than %d KiB", maxPolicy>>10)
	}
	return string(body), nil
}

// dialPolicy connects to the policy host; with --dns-server its address
// comes from that server alone, as -H's does.
func (o *Options) dialPolicy(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if o.dnsServer == "" {
		return d.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	a, err := probe.Resolve(ctx, o.resolver(), "ip", host)
	if err != nil {
		return nil, err
	}
	return d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
}

func orURL(s *STSFacts) string {
	if s.URL != "" {
		return s.URL
	}
	return s.TXTName
}
