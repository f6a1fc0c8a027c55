package cloud

import (
	"testing"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// TestNoLeak drives the aws-sm: and azure-kv: error paths with the
// credentials and the secrets around, stand-ins that echo what they were
// sent among them, and checks that no error holds a credential, a token
// or a secret value (nor their base64).
func TestNoLeak(t *testing.T) {
	const session = "aws-session-token-Zz1x"
	secrets := []string{awsSecretKey, session, "json-s3cret-Uu6i", "plain-s3cret-Tt5y", "half-an-answer-Qx9", azToken, azHeader, azVaultPW}
	_, _ = startSM(t)
	t.Setenv("AWS_SESSION_TOKEN", session)
	_, _ = startKV(t)
	kv := secret.Options{AzureVaultURL: defaultVaultURL}
	for _, r := range []struct {
		o   secret.Options
		ref string
	}{
		{ref: "aws-sm:echo"}, {ref: "aws-sm:prod/json"}, {ref: "aws-sm:prod/json#port"}, {ref: "aws-sm:prod/smtp#password"},
		{ref: "aws-sm:malformed"}, {ref: "aws-sm:denied"}, {ref: "aws-sm:missing"},
		{o: kv, ref: "azure-kv:contoso-mon/echo"}, {o: kv, ref: "azure-kv:contoso-mon/malformed"}, {o: kv, ref: "azure-kv:contoso-mon/denied"},
		{ref: "aws-sm:" + awsSecretKey}, {ref: "azure-kv:" + azToken},
	} {
		_, err := resolve(secrettest.Ctx(t), r.o, r.ref)
		if err == nil {
			t.Errorf("%s: no error", r.ref)
			continue
		}
		secrettest.AssertNoLeak(t, err.Error(), secrets...)
		t.Logf("%s", err)
	}
}
