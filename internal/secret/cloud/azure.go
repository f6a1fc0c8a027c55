package cloud

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// azureTransport is the HTTP client of the Azure SDK's requests; nil is
// the SDK's own. Tests set it to reach their stand-ins with their CA.
var azureTransport policy.Transporter

// readAzure is azure-kv:VAULT/NAME/VERSION through azsecrets with Key
// Vault's bearer challenge (the vault names the tenant and resource to get
// a token for, checked against the vault's domain). The token comes from
// azidentity's DefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI, Azure Developer CLI; AZURE_TOKEN_CREDENTIALS
// narrows it), or without the managed identity from the environment,
// workload identity and the Azure CLI. Retries are off, and every request,
// the instance metadata probe included, runs under ctx.
func (o opts) readAzure(ctx context.Context, rest string) (string, error) {
	r, err := secret.ParseAzureRef(rest)
	if err != nil {
		return "", err
	}
	vaultURL := strings.ReplaceAll(o.AzureVaultURL, "{vault}", r.Vault)
	if vaultURL == "" {
		vaultURL = "https://" + r.Vault + ".vault.azure.net"
	}
	if u, err := url.Parse(vaultURL); err != nil || u.Scheme != "https" || u.Host == "" {
		return "", secret.Fail("azure-kv", rest+": --azure-vault-url "+secret.Quote(vaultURL)+": want an https:// URL, e.g. https://{vault}.vault.azure.net", nil)
	}
	co := azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: -1}, // a check runs again at its next interval
		Transport: azureTransport,
	}
	// The credentials keep their own client (a managed identity on
	// Service Fabric takes no other); the vault's answers are capped.
	chain, err := o.azureCredential(co)
	if err != nil {
		return "", secret.Fail("azure-kv", rest+": credentials: "+capText(nil, err.Error()), err)
	}
	cred := &watchedCredential{TokenCredential: chain}
	cred.scrub.Add(os.Getenv("AZURE_CLIENT_SECRET"))
	cred.scrub.Add(os.Getenv("IDENTITY_HEADER")) // App Service's and Service Fabric's managed identity secret
	cred.scrub.Add(os.Getenv("MSI_SECRET"))      // the same, as older App Services name it
	// Key Vault never redirects, and net/http would send the token on to
	// the same host even over http://: a redirect is not followed.
	vault := *http.DefaultClient
	if c, ok := azureTransport.(*http.Client); ok {
		vault = *c
	}
	vault.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	co.Transport = cappedClient{inner: &vault, seen: &cred.scrub}
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{ClientOptions: co})
	if err != nil {
		return "", secret.Fail("azure-kv", rest+": "+vaultURL+": "+capText(nil, err.Error()), err)
	}
	resp, err := c.GetSecret(ctx, r.Name, r.Version, nil)
	if err != nil {
		return "", scrubbed(azureErr(ctx, rest, vaultURL, cred.busy.Load(), err, &cred.scrub), &cred.scrub)
	}
	if resp.Value == nil || *resp.Value == "" {
		return "", secret.Fail("azure-kv", rest+": the secret is empty", secret.ErrNotFound)
	}
	return strings.TrimRight(*resp.Value, "\r\n"), nil
}

// azureCredential is the chain that gets the vault's token.
func (o opts) azureCredential(co azcore.ClientOptions) (azcore.TokenCredential, error) {
	if !o.AzureNoManagedID {
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: co})
	}
	var chain []azcore.TokenCredential
	if c, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{ClientOptions: co}); err == nil {
		chain = append(chain, c)
	}
	if c, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{ClientOptions: co}); err == nil {
		chain = append(chain, c)
	}
	if c, err := azidentity.NewAzureCLICredential(nil); err == nil {
		chain = append(chain, c)
	}
	return azidentity.NewChainedTokenCredential(chain, nil)
}

// azureErr flattens what the SDK returned into one line:
//
//	azure-kv: mon/smtp: SecretNotFound (HTTP 404): A secret with (name/id) smtp was not found in this key vault.
//	azure-kv: mon/smtp: no token: DefaultAzureCredential: ...
func azureErr(ctx context.Context, where, vaultURL string, gettingToken bool, err error, scrub *redact.Set) error {
	var (
		re *azcore.ResponseError
		ae *azidentity.AuthenticationFailedError
	)
	switch {
	case ctx.Err() != nil:
		what := "GET " + vaultURL
		if gettingToken {
			what = "getting a token (managed identity, Azure CLI, ...; --azure-no-managed-identity skips the instance metadata endpoint)"
		}
		return secret.Fail("azure-kv", where+": "+what+": "+secret.CtxMsg(ctx, ctx.Err()), errors.Join(ctx.Err(), err))
	case errors.As(err, &ae):
		msg := "no token: " + capText(scrub, err.Error())
		if ae.RawResponse != nil {
			msg = fmt.Sprintf("no token: the token endpoint answered HTTP %d", ae.RawResponse.StatusCode)
			if d := tokenRefusal(ae.RawResponse, scrub); d != "" {
				msg += ": " + d
			}
		}
		return secret.Fail("azure-kv", where+": "+msg, err)
	case errors.As(err, &re):
		code := cmp.Or(re.ErrorCode, "error")
		msg := fmt.Sprintf("%s (HTTP %d)", code, re.StatusCode)
		if m := azureMessage(re, scrub); m != "" {
			msg += ": " + m
		}
		switch {
		case re.StatusCode == 404:
			return secret.Fail("azure-kv", where+": "+msg, errors.Join(err, secret.ErrNotFound))
		case re.StatusCode == 403:
			msg += " (the identity needs the Key Vault Secrets User role, or a get permission in the vault's access policy)"
		case re.StatusCode == 401:
			msg += " (the token was refused: check the tenant and the identity)"
		case re.StatusCode == 429:
			msg += " (rate limited: not retried, the next check asks again)"
		case re.StatusCode/100 == 3:
			msg += " (a redirect, which Key Vault never sends: not followed; check --azure-vault-url)"
		}
		return secret.Fail("azure-kv", where+": "+msg, err)
	case errors.Is(err, errTooBig):
		return secret.Fail("azure-kv", where+": "+vaultURL+": "+errTooBig.Error(), err)
	case gettingToken || strings.Contains(err.Error(), "Credential"):
		return secret.Fail("azure-kv", where+": no token: "+capText(scrub, err.Error()), err)
	case strings.Contains(err.Error(), "unmarshalling type"):
		// Its text names Go types and may quote the answer: say less.
		return secret.Fail("azure-kv", where+": the answer is not Key Vault's JSON (a proxy or another service at "+vaultURL+"?)", err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return secret.Fail("azure-kv", where+": cannot reach "+vaultURL+": "+capText(scrub, ue.Err.Error()), err)
	}
	return secret.Fail("azure-kv", where+": "+vaultURL+": "+capText(scrub, err.Error()), err)
}

// watchedCredential tells whether a token was being fetched when the
// deadline came: the managed identity endpoint or the Azure CLI, not the
// vault, is then what did not answer. The tokens it hands out, and the
// client secret, are scrubbed from messages (a vault or proxy may echo).
type watchedCredential struct {
	azcore.TokenCredential
	busy  atomic.Bool
	scrub redact.Set
}

func (w *watchedCredential) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	w.busy.Store(true)
	tok, err := w.TokenCredential.GetToken(ctx, o)
	w.scrub.Add(tok.Token)
	if err == nil {
		w.busy.Store(false)
	}
	return tok, err
}

// tokenRefusal is a token endpoint's error_description (OAuth 2's error
// answer), if it has one.
func tokenRefusal(resp *http.Response, scrub *redact.Set) string {
	body, err := runtime.Payload(resp)
	if err != nil {
		return ""
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return capText(scrub, strings.TrimSpace(e.Error+": "+e.Description))
}

// azureMessage is Key Vault's error.message, if the answer has one.
func azureMessage(re *azcore.ResponseError, scrub *redact.Set) string {
	if re.RawResponse == nil {
		return ""
	}
	body, err := runtime.Payload(re.RawResponse)
	if err != nil {
		return ""
	}
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return capText(scrub, e.Error.Message)
}
