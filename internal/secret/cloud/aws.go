package cloud

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/smtpcheck/smtpcheck/internal/redact"
	"github.com/smtpcheck/smtpcheck/internal/secret"
)

// readAWS is aws-sm:NAME#FIELD through the SDK's default credential chain
// (environment, shared config and profile, web identity, SSO, the
// instance's role). Retries are off: a check runs again at its next
// interval, and a retry's back-off would eat -t. Every request, the
// instance metadata probe included, runs under ctx; the endpoint is the
// SDK's (AWS_ENDPOINT_URL_SECRETS_MANAGER overrides it).
func (o opts) readAWS(ctx context.Context, rest string) (string, error) {
	r, err := secret.ParseAWSRef(rest)
	if err != nil {
		return "", err
	}
	// A service's message (or a proxy's) might echo what was sent: the
	// credentials and signatures of the requests are scrubbed from it.
	var scrub redact.Set
	load := []func(*config.LoadOptions) error{
		// The instance metadata client takes only a Retryer, not the
		// attempts: without it, it retries for seconds (-t's) on a host
		// where nothing answers at 169.254.169.254.
		config.WithRetryer(func() aws.Retryer { return aws.NopRetryer{} }),
		config.WithLogger(logging.Nop{}), // its warnings are no plugin's output
		config.WithHTTPClient(cappedClient{inner: awshttp.NewBuildableClient(), seen: &scrub}),
	}
	if region := cmp.Or(o.AWSRegion, r.Region); region != "" {
		load = append(load, config.WithRegion(region))
	}
	if o.AWSNoIMDS {
		load = append(load, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return "", secret.Fail("aws-sm", rest+": configuration (AWS_* variables, ~/.aws/config): "+capText(nil, err.Error()), err)
	}
	if cfg.Region == "" {
		return "", secret.Fail("aws-sm", rest+": no region: give --aws-region, set AWS_REGION, or name the secret by its ARN", nil)
	}
	if cfg.Credentials != nil {
		cfg.Credentials = scrubbedCredentials{cfg.Credentials, &scrub}
	}
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.Name)}
	if o.AWSVersionStage != "" {
		in.VersionStage = aws.String(o.AWSVersionStage)
	}
	if o.AWSVersionID != "" {
		in.VersionId = aws.String(o.AWSVersionID)
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, in)
	if err != nil {
		return "", scrubbed(awsErr(ctx, rest, cfg.Region, err, &scrub), &scrub)
	}
	v := aws.ToString(out.SecretString)
	if out.SecretString == nil {
		v = string(out.SecretBinary) // checked for control characters like any value
	}
	return pickField("aws-sm", rest, strings.TrimRight(v, "\r\n"), r.Field, "aws-sm:"+r.Name+"#password")
}

// scrubbedCredentials registers the credentials it hands out for scrubbing.
type scrubbedCredentials struct {
	aws.CredentialsProvider
	scrub *redact.Set
}

func (s scrubbedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := s.CredentialsProvider.Retrieve(ctx)
	s.scrub.Add(c.SecretAccessKey)
	s.scrub.Add(c.SessionToken)
	return c, err
}

// scrubbed takes what scrub holds out of err's message.
func scrubbed(err error, scrub *redact.Set) error {
	if se, ok := errors.AsType[*secret.Error](err); ok {
		se.Msg = scrub.Scrub(se.Msg)
	}
	return err
}

// pickField returns v, or the string field of the JSON object v when field
// is given. A JSON object without a field named is refused: sent whole,
// it would be a wrong password. No JSON error is quoted: it quotes the value.
func pickField(scheme, where, v, field, example string) (string, error) {
	var obj map[string]any
	isObject := json.Unmarshal([]byte(v), &obj) == nil && obj != nil
	switch {
	case field == "" && v == "":
		return "", secret.Fail(scheme, where+": the secret is empty", secret.ErrNotFound)
	case field == "" && isObject:
		return "", secret.Fail(scheme, where+": the secret is a JSON object: name the field to use, e.g. "+example, nil)
	case field == "":
		return v, nil
	case !isObject:
		return "", secret.Fail(scheme, where+": the secret is not a JSON object, so it has no field "+secret.Quote(field)+": drop #"+field+" to use it whole", nil)
	}
	raw, ok := obj[field]
	if !ok {
		return "", secret.Fail(scheme, where+": no field "+secret.Quote(field)+" in the secret's JSON", secret.ErrNotFound)
	}
	s, ok := raw.(string)
	switch {
	case !ok:
		return "", secret.Fail(scheme, fmt.Sprintf("%s: field %s is not a string (%s)", where, secret.Quote(field), secret.JSONKind(raw)), nil)
	case s == "":
		return "", secret.Fail(scheme, where+": field "+secret.Quote(field)+" is empty", secret.ErrNotFound)
	}
	return s, nil
}

// awsErr flattens what the SDK returned into one line:
//
//	aws-sm: prod/smtp: AccessDeniedException (HTTP 400): User: ... is not authorized ...
//	aws-sm: prod/smtp: no credentials: ...
func awsErr(ctx context.Context, where, region string, err error, scrub *redact.Set) error {
	var (
		ae  smithy.APIError
		re  *awshttp.ResponseError
		de  *smithy.DeserializationError
		ue  *url.Error
		msg string
	)
	status := ""
	if errors.As(err, &re) && re.HTTPStatusCode() > 0 {
		status = fmt.Sprintf(" (HTTP %d)", re.HTTPStatusCode())
	}
	switch {
	case ctx.Err() != nil && strings.Contains(err.Error(), "get identity"):
		// The credential chain, not the service, did not answer.
		return secret.Fail("aws-sm", where+": getting credentials (instance metadata, container endpoint, ...; --aws-no-imds skips the instance metadata service): "+secret.CtxMsg(ctx, ctx.Err()), errors.Join(ctx.Err(), err))
	case ctx.Err() != nil:
		return secret.Fail("aws-sm", where+" in "+region+": "+secret.CtxMsg(ctx, ctx.Err()), errors.Join(ctx.Err(), err))
	case errors.As(err, &ae):
		msg = ae.ErrorCode() + status
		if m := ae.ErrorMessage(); m != "" {
			msg += ": " + capText(scrub, m)
		}
		switch ae.ErrorCode() {
		case "ResourceNotFoundException":
			return secret.Fail("aws-sm", where+": "+msg+" (check the name, the region "+region+" and --aws-version-*)", errors.Join(err, secret.ErrNotFound))
		case "AccessDeniedException":
			msg += " (the credentials' policy must allow secretsmanager:GetSecretValue on it and kms:Decrypt on its key)"
		case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "IncompleteSignature":
			msg += " (check the credentials: AWS_ACCESS_KEY_ID, AWS_PROFILE, the instance's role)"
		case "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded":
			msg += " (rate limited: not retried, the next check asks again)"
		}
	case errors.Is(err, errTooBig):
		msg = errTooBig.Error()
	case errors.As(err, &de):
		// Its text may quote the answer: say less.
		msg = "the answer" + status + " is not Secrets Manager's JSON (a proxy or another service at the endpoint?)"
	case strings.Contains(err.Error(), "get identity"):
		msg = "no credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or give the instance a role: " + capText(scrub, innermost(err))
	case errors.As(err, &ue):
		// No answer at all: the endpoint, and the network's reason.
		msg = "cannot reach " + ue.URL + ": " + capText(scrub, ue.Err.Error())
	default:
		msg = strings.TrimSpace(status + " " + capText(scrub, innermost(err)))
		if msg == "" {
			// An inner error with no text of its own: the whole chain.
			msg = capText(scrub, err.Error())
		}
	}
	return secret.Fail("aws-sm", where+": "+msg, err)
}

// innermost drops the SDK's "operation error Secrets Manager:
// GetSecretValue, https response error StatusCode: ..." wrapping where it
// can: the reference already names the operation.
func innermost(err error) string {
	var oe *smithy.OperationError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Err != nil {
		err = re.Err
	}
	return err.Error()
}
