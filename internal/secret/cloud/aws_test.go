package cloud

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smtpcheck/smtpcheck/internal/secret"
	"github.com/smtpcheck/smtpcheck/internal/secret/secrettest"
)

// fakeSM is a STAND-IN for AWS Secrets Manager (no AWS service runs
// here): GetSecretValue over the JSON 1.1 protocol, as the real SDK client
// speaks it. It records the SigV4 Authorization header of each request and
// answers by SecretId.
type fakeSM struct {
	mu      sync.Mutex
	auth    []string // Authorization headers, in order
	stages  []string // VersionStage of each request
	stall   chan struct{}
	secrets map[string]string // SecretId → SecretString
}

// Answers for special SecretIds: an AWS error (type, HTTP status).
var smErrors = map[string]struct {
	typ    string
	status int
	msg    string
}{
	"missing":   {"ResourceNotFoundException", 400, "Secrets Manager can't find the specified secret."},
	"denied":    {"AccessDeniedException", 400, "User: arn:aws:iam::123456789012:user/mon is not authorized to perform: secretsmanager:GetSecretValue"},
	"throttled": {"ThrottlingException", 400, "Rate exceeded"},
	"internal":  {"InternalServiceError", 500, "An error occurred on the server side."},
}

func (f *fakeSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct{ SecretId, VersionStage, VersionId string }
	_ = json.Unmarshal(body, &in)
	f.mu.Lock()
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	f.stages = append(f.stages, in.VersionStage)
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		http.Error(w, "stand-in: not GetSecretValue", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	name := in.SecretId[strings.LastIndex(in.SecretId, ":")+1:] // an ARN's NAME
	if e, ok := smErrors[name]; ok {
		w.Header().Set("X-Amzn-ErrorType", e.typ)
		w.WriteHeader(e.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.typ, "message": e.msg})
		return
	}
	switch name {
	case "echo": // hostile: what was sent comes back in the message
		w.Header().Set("X-Amzn-ErrorType", "ValidationException")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": "ValidationException",
			"message": "you sent " + r.Header.Get("X-Amz-Security-Token") + " and " + r.Header.Get("Authorization")})
		return
	case "stalled":
		select {
		case <-f.stall:
		case <-r.Context().Done():
		}
		return
	case "malformed":
		_, _ = w.Write([]byte(`{"SecretString": "half-an-answer-Qx9`))
		return
	case "flood":
		_, _ = w.Write([]byte(`{"SecretString": "`))
		for range 4096 { // 4 MiB, ended by the client
			if _, err := w.Write([]byte(strings.Repeat("f", 1024))); err != nil {
				return
			}
		}
		return
	case "binary":
		_ = json.NewEncoder(w).Encode(map[string]any{"Name": name, "SecretBinary": []byte("bin-s3cret-Jj4")})
		return
	}
	v, ok := f.secrets[name]
	if !ok {
		http.Error(w, "stand-in: no such test secret", http.StatusBadRequest)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + name,
		"Name": name, "SecretString": v, "VersionId": "v-1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9})
}

// awsEnv points the SDK at the stand-in with static credentials and no
// shared files, profile or instance metadata service of this machine's.
func awsEnv(t *testing.T, endpoint string) {
	t.Helper()
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDSTANDIN")
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsSecretKey)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", endpoint)
}

const awsSecretKey = "aws-secret-key-Ww3e"

var awsSecrets = map[string]string{
	"prod/smtp": "plain-s3cret-Tt5y",
	"prod/json": `{"username":"mon","password":"json-s3cret-Uu6i","port":587,"empty":""}`,
}

func startSM(t *testing.T) (*fakeSM, *httptest.Server) {
	f := &fakeSM{secrets: awsSecrets, stall: make(chan struct{})}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { close(f.stall); srv.Close() })
	awsEnv(t, srv.URL)
	return f, srv
}

func resolve(ctx context.Context, o secret.Options, ref string) (string, error) {
	o.Store = Read
	return o.Resolve(ctx, ref)
}

func TestAWS(t *testing.T) {
	f, _ := startSM(t)
	cases := []struct {
		o        secret.Options
		ref      string
		want     string // the value, or "" for an error
		err      string // the whole error line
		notFound bool
	}{
		{ref: "aws-sm:prod/smtp", want: "plain-s3cret-Tt5y"},
		{ref: "aws-sm:prod/json#password", want: "json-s3cret-Uu6i"},
		{ref: "aws-sm:binary", want: "bin-s3cret-Jj4"},
		{ref: "aws-sm:prod/json", err: "aws-sm: prod/json: the secret is a JSON object: name the field to use, e.g. aws-sm:prod/json#password"},
		{ref: "aws-sm:prod/json#nope", err: `aws-sm: prod/json#nope: no field "nope" in the secret's JSON`, notFound: true},
		{ref: "aws-sm:prod/json#port", err: `aws-sm: prod/json#port: field "port" is not a string (number)`},
		{ref: "aws-sm:prod/json#empty", err: `aws-sm: prod/json#empty: field "empty" is empty`, notFound: true},
		{ref: "aws-sm:prod/smtp#password", err: `aws-sm: prod/smtp#password: the secret is not a JSON object, so it has no field "password": drop #password to use it whole`},
		{ref: "aws-sm:missing", notFound: true,
			err: "aws-sm: missing: ResourceNotFoundException (HTTP 400): Secrets Manager can't find the specified secret. (check the name, the region eu-west-1 and --aws-version-*)"},
		{ref: "aws-sm:denied",
			err: "aws-sm: denied: AccessDeniedException (HTTP 400): User: arn:aws:iam::123456789012:user/mon is not authorized to perform: secretsmanager:GetSecretValue (the credentials' policy must allow secretsmanager:GetSecretValue on it and kms:Decrypt on its key)"},
		{ref: "aws-sm:throttled", err: "aws-sm: throttled: ThrottlingException (HTTP 400): Rate exceeded (rate limited: not retried, the next check asks again)"},
		{ref: "aws-sm:internal", err: "aws-sm: internal: InternalServiceError (HTTP 500): An error occurred on the server side."},
		{ref: "aws-sm:malformed", err: "aws-sm: malformed: the answer (HTTP 200) is not Secrets Manager's JSON (a proxy or another service at the endpoint?)"},
		{ref: "aws-sm:flood", err: "aws-sm: flood: the answer is over 1 MiB: not a secret store's (a proxy or another service at the endpoint?)"},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			before := len(f.auth)
			got, err := resolve(secrettest.Ctx(t), c.o, c.ref)
			if c.err == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
			} else {
				secrettest.CheckErr(t, err, c.err, awsSecretKey, "json-s3cret-Uu6i", "half-an-answer-Qx9")
				if err.Error() != c.err {
					t.Errorf("error\n got  %s\n want %s", err, c.err)
				}
				if errors.Is(err, secret.ErrNotFound) != c.notFound {
					t.Errorf("ErrNotFound: %v, want %v", !c.notFound, c.notFound)
				}
			}
			// One request each: no retries, throttled or failed.
			if n := len(f.auth) - before; n != 1 {
				t.Errorf("%d requests, want 1 (no retries)", n)
			}
		})
	}
	// Nothing listens: the endpoint and the reason, on one line.
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")
	_, err := resolve(secrettest.Ctx(t), secret.Options{}, "aws-sm:prod/smtp")
	secrettest.CheckErr(t, err, "aws-sm: prod/smtp: cannot reach http://127.0.0.1:9/: dial tcp 127.0.0.1:9: connect: connection refused")
	// Every request was signed (SigV4) for the region and the service.
	for _, a := range f.auth {
		if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDSTANDIN/") || !strings.Contains(a, "/eu-west-1/secretsmanager/aws4_request") {
			t.Fatalf("Authorization %q: want SigV4 for eu-west-1", a)
		}
	}
}

// TestAWSRegionAndVersion: the region of an ARN, then --aws-region over
// AWS_REGION; --aws-version-stage in the request.
func TestAWSRegionAndVersion(t *testing.T) {
	f, _ := startSM(t)
	os.Unsetenv("AWS_REGION")
	ctx := secrettest.Ctx(t)
	_, err := resolve(ctx, secret.Options{}, "aws-sm:prod/smtp")
	secrettest.CheckErr(t, err, "aws-sm: prod/smtp: no region: give --aws-region, set AWS_REGION, or name the secret by its ARN")
	if len(f.auth) != 0 {
		t.Fatalf("a request without a region: %q", f.auth)
	}
	got, err := resolve(ctx, secret.Options{AWSVersionStage: "AWSPREVIOUS"}, "aws-sm:arn:aws:secretsmanager:us-east-2:123456789012:secret:prod/smtp")
	if err != nil || got != "plain-s3cret-Tt5y" {
		t.Fatalf("ARN: %q, %v", got, err)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	if _, err := resolve(ctx, secret.Options{AWSRegion: "ap-south-1"}, "aws-sm:prod/smtp"); err != nil {
		t.Fatal(err)
	}
	if len(f.auth) != 2 || !strings.Contains(f.auth[0], "/us-east-2/secretsmanager/") || !strings.Contains(f.auth[1], "/ap-south-1/secretsmanager/") {
		t.Errorf("regions signed for: %q", f.auth)
	}
	if f.stages[0] != "AWSPREVIOUS" || f.stages[1] != "" {
		t.Errorf("VersionStage sent: %q", f.stages)
	}
}

// TestAWSDeadline: a stalled endpoint, and a stalled instance metadata
// service (a stand-in on loopback) asked for credentials, both end at the
// deadline with a message that says so.
func TestAWSDeadline(t *testing.T) {
	_, _ = startSM(t)
	var asked atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-r.Context().Done()
	}))
	defer imds.Close()
	for _, c := range []struct {
		name, ref, want string
		env             map[string]string
	}{
		{"endpoint", "aws-sm:stalled", "aws-sm: stalled in eu-west-1: no answer within the plugin's timeout (-t)", nil},
		{"imds", "aws-sm:prod/smtp", "aws-sm: prod/smtp: getting credentials (instance metadata, container endpoint, ...; --aws-no-imds skips the instance metadata service): no answer within the plugin's timeout (-t)",
			map[string]string{"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := resolve(ctx, secret.Options{}, c.ref)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("ended after %v, the deadline was 700ms", d)
			}
			secrettest.CheckErr(t, err, c.want, awsSecretKey)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("not a timeout: %v", err)
			}
		})
	}
	// Without keys and with the metadata service switched off (the flag
	// or the SDK's variable) no credentials are found, and the metadata
	// service is not asked.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	for _, o := range []struct {
		flag bool
		env  string
	}{{true, "false"}, {false, "true"}} {
		t.Setenv("AWS_EC2_METADATA_DISABLED", o.env)
		asked.Store(0)
		_, err := resolve(secrettest.Ctx(t), secret.Options{AWSNoIMDS: o.flag}, "aws-sm:prod/smtp")
		if n := asked.Load(); n != 0 {
			t.Errorf("--aws-no-imds %v, AWS_EC2_METADATA_DISABLED=%s: the metadata service was asked %d times", o.flag, o.env, n)
		}
		secrettest.CheckErr(t, err, "aws-sm: prod/smtp: no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or give the instance a role: ")
		t.Logf("%s", err)
	}
}

func TestAWSRefs(t *testing.T) {
	const not = "malformed reference, not shown (it may be a password typed in its place): want aws-sm:NAME or aws-sm:NAME#FIELD"
	for _, ref := range []string{"aws-sm:", "aws-sm:#f", "aws-sm:a#", "aws-sm:a#b#c", "aws-sm:pass word", "aws-sm:a:b", "aws-sm:arn:aws:s3:::bucket",
		"aws-sm:arn:aws:secretsmanager:us-east-1:1:secret:", "aws-sm:" + strings.Repeat("x", 513)} {
		_, err := resolve(secrettest.Ctx(t), secret.Options{}, ref)
		if err == nil || (!strings.Contains(err.Error(), not) && err.Error() != "aws-sm: empty reference: want "+secret.Schemes) {
			t.Errorf("%q: %v", ref, err)
		}
	}
}
