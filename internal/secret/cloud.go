package secret

import "strings"

// AWSRef is aws-sm:NAME#FIELD split up. Name is what GetSecretValue takes
// as SecretId (a name or an ARN); Region is the ARN's, if it is one.
type AWSRef struct {
	Name, Field, Region string
}

// ParseAWSRef splits what follows "aws-sm:". A secret's name holds letters,
// digits and /_+=.@- (Secrets Manager's own rule), so '#' cannot be part of
// it; an ARN is arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME.
func ParseAWSRef(rest string) (AWSRef, error) {
	name, field, hasField := strings.Cut(rest, "#")
	r := AWSRef{Name: name, Field: field}
	ok := !(hasField && (field == "" || strings.Contains(field, "#")))
	if arn, isARN := strings.CutPrefix(name, "arn:"); isARN {
		parts := strings.Split(arn, ":")
		ok = ok && len(name) <= 2048 && len(parts) == 6 && parts[1] == "secretsmanager" && parts[4] == "secret" &&
			parts[0] != "" && parts[2] != "" && parts[3] != "" && awsName(parts[5], 512) && awsName(parts[2], 32)
		if ok {
			r.Region = parts[2]
		}
	} else {
		ok = ok && awsName(name, 512)
	}
	if !ok {
		return AWSRef{}, malformed("aws-sm")
	}
	return r, nil
}

// awsName reports whether s is 1 to max of Secrets Manager's name characters.
func awsName(s string, max int) bool {
	return s != "" && len(s) <= max && !strings.ContainsFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+=.@-", c))
	})
}

// AzureRef is azure-kv:VAULT/NAME/VERSION split up; Version "" is the
// latest.
type AzureRef struct {
	Vault, Name, Version string
}

// ParseAzureRef splits what follows "azure-kv:". Key Vault's own rules: a
// vault's name is 3 to 24 letters, digits and dashes, a secret's 1 to 127,
// a version letters and digits.
func ParseAzureRef(rest string) (AzureRef, error) {
	parts := strings.Split(rest, "/")
	ok := len(parts) == 2 || len(parts) == 3
	var r AzureRef
	if ok {
		r.Vault, r.Name = parts[0], parts[1]
		if len(parts) == 3 {
			r.Version = parts[2]
			ok = azureName(r.Version, 1, 64, false)
		}
		ok = ok && azureName(r.Vault, 3, 24, true) && azureName(r.Name, 1, 127, true)
	}
	if !ok {
		return AzureRef{}, malformed("azure-kv")
	}
	return r, nil
}

func azureName(s string, least, most int, dash bool) bool {
	return len(s) >= least && len(s) <= most && !strings.ContainsFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || dash && c == '-')
	})
}

// JSONKind names the JSON type of a decoded value, for a message that says
// a field is not a string without showing it.
func JSONKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	}
	return "number"
}
