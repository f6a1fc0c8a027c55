package deliverycheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/authres"

	"github.com/smtpcheck/smtpcheck/internal/imapbox"
	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// authMethods are the methods --require-auth-results knows, in the order shown.
var authMethods = []string{"spf", "dkim", "dmarc"}

// authResults are the results the trusted server (--authserv-id) wrote
// into the delivered probe's Authentication-Results headers (RFC 8601),
// by method: one each for SPF and DMARC, one per signature for DKIM. The
// headers of any other authserv-id are ignored: anyone on the way may add
// one, and only the receiving server's own is stripped of forgeries.
type authResults struct {
	trusted int                 // trusted headers read
	unread  int                 // trusted headers that did not parse
	byKind  map[string][]string // method → result values
}

func readAuthResults(m *imapbox.Message, authservID string) authResults {
	a := authResults{byKind: map[string][]string{}}
	for _, v := range m.Fields("Authentication-Results") {
		id, results, err := authres.Parse(v)
		if !strings.EqualFold(id, authservID) {
			continue
		}
		a.trusted++
		if err != nil && len(results) == 0 {
			a.unread++
			continue
		}
		for _, r := range results {
			method, value := resultOf(r)
			a.byKind[method] = append(a.byKind[method], value)
		}
	}
	return a
}

// resultOf names a parsed result's method and value.
func resultOf(r authres.Result) (method, value string) {
	switch r := r.(type) {
	case *authres.SPFResult:
		return "spf", string(r.Value)
	case *authres.DKIMResult:
		return "dkim", string(r.Value)
	case *authres.DMARCResult:
		return "dmarc", string(r.Value)
	case *authres.GenericResult:
		return strings.ToLower(r.Method), string(r.Value)
	}
	return "other", ""
}

// shown is "absent" or the values of method, "pass,fail".
func (a authResults) shown(method string) string {
	if v := a.byKind[method]; len(v) > 0 {
		return strings.Join(v, ",")
	}
	return "absent"
}

// passed reports whether method passed: a DKIM result passes when one
// signature does.
func (a authResults) passed(method string) bool {
	return slices.Contains(a.byKind[method], string(authres.ResultPass))
}

// judgeAuthResults shows the trusted SPF, DKIM and DMARC results of the
// found probe and, with --require-auth-results, judges them: a required
// method that did not pass is CRITICAL (mail from this server would fail
// the same checks elsewhere), WARNING when its only results are
// temperror (a DNS failure that may pass on the next run).
func (o *Options) judgeAuthResults(f *Facts, r *plugin.Result) {
	if o.AuthservID == "" || f.Found == nil {
		return
	}
	a := readAuthResults(f.Found, o.AuthservID)
	if a.trusted == 0 {
		r.Detail("auth-results: no Authentication-Results header by %q on the probe", o.AuthservID)
	} else {
		parts := make([]string, len(authMethods))
		for i, m := range authMethods {
			parts[i] = m + "=" + a.shown(m)
		}
		r.Detail("auth-results by %s: %s", o.AuthservID, strings.Join(parts, " "))
		if a.unread > 0 {
			r.Detail("auth-results: %d header(s) by %q did not parse", a.unread, o.AuthservID)
		}
	}
	var failed []string
	state := plugin.OK
	for _, m := range o.requiredAuth {
		if a.passed(m) {
			continue
		}
		failed = append(failed, m+"="+a.shown(m))
		if v := a.byKind[m]; len(v) > 0 && !slices.ContainsFunc(v, func(s string) bool { return s != string(authres.ResultTempError) }) {
			state = max(state, plugin.Warning)
		} else {
			state = plugin.Critical
		}
	}
	if len(failed) == 0 {
		return
	}
	where := fmt.Sprintf("no Authentication-Results header by %q on the probe", o.AuthservID)
	if a.trusted > 0 {
		where = "authentication results by " + o.AuthservID + ": " + strings.Join(failed, " ")
	}
	r.Add(state, "%s (--require-auth-results %s wants pass)", where, strings.Join(o.requiredAuth, ","))
}
