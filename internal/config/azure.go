package config

import (
	"cmp"
	"strings"
	"time"

	"presign.dev/azuresas"
	"presign.dev/presign"
)

// The credentials of a kind azure backend without an account key: user
// delegation keys, got with Microsoft Entra ID tokens for Azure Storage.
//
//	credentials:
//	  source: azure_token             # a file that holds the token
//	  token_file: /var/run/secrets/azure/storage-token
//	  key_lifetime: 24h               # each user delegation key's; 1h to 7d
//
//	credentials:
//	  source: azure_managed_identity  # the Azure Instance Metadata Service
//	  client_id: 00000000-0000-0000-0000-000000000000  # a user-assigned identity
const (
	SourceAzureToken           = "azure_token"
	SourceAzureManagedIdentity = "azure_managed_identity"
)

// Bounds of key_lifetime: a URL may live until its key expires, and a key
// is renewed from the middle of its life, so URLs get at least half of it.
const (
	minKeyLifetime = time.Hour
	maxKeyLifetime = azuresas.MaxUserDelegationKeyLifetime
)

func isAzureSource(s string) bool {
	return s == SourceAzureToken || s == SourceAzureManagedIdentity
}

// azureCredentials reads the credentials section of a kind azure backend
// whose source is azure_token or azure_managed_identity: b then signs with
// user delegation keys of its account (azuresas.DelegationKeys), from its
// endpoint. presign.Backend.Validate checks the account (and that no
// account key is given beside it). No problem quotes a token.
func (r *reader) azureCredentials(path string, fc fileCredentials, b *presign.Backend) {
	cp := path + ".credentials"
	source := r.str(cp+".source", fc.Source)
	for _, f := range []struct {
		name  string
		value *string
	}{
		{"base", fc.Base}, {"role_arn", fc.RoleARN}, {"external_id", fc.ExternalID}, {"session_name", fc.SessionName},
		{"session_policy", fc.SessionPolicy}, {"duration", fc.Duration}, {"region", fc.Region}, {"sts_endpoint", fc.STSEndpoint},
	} {
		if f.value != nil {
			r.errf(cp+"."+f.name, "does not apply to source %s (it is AWS's); remove it", source)
		}
	}
	keys := &azuresas.DelegationKeys{Account: b.Credentials.AccessKeyID}
	if d := r.dur(cp+".key_lifetime", fc.KeyLifetime); d != 0 {
		if d < minKeyLifetime || d > maxKeyLifetime || d%time.Second != 0 {
			r.errf(cp+".key_lifetime", "%s must be whole seconds from %s to %s (Azure's longest)", presign.FormatDuration(d), presign.FormatDuration(minKeyLifetime), presign.FormatDuration(maxKeyLifetime))
		}
		keys.Lifetime = d
	}
	switch source {
	case SourceAzureToken:
		if fc.ClientID != nil {
			r.errf(cp+".client_id", "applies to source %s only; remove it", SourceAzureManagedIdentity)
		}
		file := r.str(cp+".token_file", fc.TokenFile)
		if file == "" {
			r.errf(cp+".token_file", "required: the file that holds an access token of Microsoft Entra ID for %s, which presign reads again whenever it needs a key", azuresas.StorageResource)
		} else if strings.ContainsAny(file, "\x00\n\r") {
			r.errf(cp+".token_file", "is not a file name")
		}
		keys.Tokens = &azuresas.TokenFile{Path: file}
	case SourceAzureManagedIdentity:
		if fc.TokenFile != nil {
			r.errf(cp+".token_file", "applies to source %s only; remove it", SourceAzureToken)
		}
		mi := &azuresas.ManagedIdentity{ClientID: r.str(cp+".client_id", fc.ClientID)}
		if mi.ClientID != "" && !azuresas.GUID(mi.ClientID) {
			r.errf(cp+".client_id", "%q is not a managed identity's client ID, a GUID like 00000000-0000-0000-0000-000000000000", mi.ClientID)
		}
		keys.Tokens = mi
	}
	// The endpoint as the backend's defaults make it (the account's in
	// Azure's public cloud when none is given); Validate reports a bad one.
	keys.Endpoint, _ = azuresas.NormalizeEndpoint(b.WithDefaults().Endpoint)
	b.AzureKeys = keys
}

// azureFieldsElsewhere reports the azure sources' fields in a credentials
// section of another source.
func (r *reader) azureFieldsElsewhere(path string, fc fileCredentials) {
	cp := path + ".credentials"
	for _, f := range []struct {
		name, source string
		value        *string
	}{
		{"token_file", SourceAzureToken, fc.TokenFile},
		{"client_id", SourceAzureManagedIdentity, fc.ClientID},
		{"key_lifetime", SourceAzureToken + " or " + SourceAzureManagedIdentity, fc.KeyLifetime},
	} {
		if f.value != nil {
			r.errf(cp+"."+f.name, "applies to source %s of kind azure only; remove it", f.source)
		}
	}
}

// effectiveAzureCredentials prints the credentials section of a kind
// azure backend that signs with user delegation keys: the source, its
// token file or managed identity, and the keys' lifetime.
func effectiveAzureCredentials(src presign.AzureKeySource) *fileCredentials {
	keys, ok := src.(*azuresas.DelegationKeys)
	if !ok {
		return nil
	}
	fc := &fileCredentials{KeyLifetime: ptr(presign.FormatDuration(cmp.Or(keys.Lifetime, azuresas.DefaultKeyLifetime)))}
	switch t := keys.Tokens.(type) {
	case *azuresas.TokenFile:
		fc.Source, fc.TokenFile = ptr(SourceAzureToken), ptr(t.Path)
	case *azuresas.ManagedIdentity:
		fc.Source, fc.ClientID = ptr(SourceAzureManagedIdentity), optional(t.ClientID)
	}
	return fc
}
