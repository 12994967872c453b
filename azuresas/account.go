package azuresas

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
)

// Account is a storage account's name and its key (either of its two
// access keys). It prints without the key.
type Account struct {
	Name string
	key  []byte
}

// String shows the account name only.
func (a Account) String() string { return "azuresas.Account{Name:" + a.Name + ", Key:<redacted>}" }

// GoString redacts like String, for %#v.
func (a Account) GoString() string { return a.String() }

// ParseAccountKey returns the account named name with key, the base64
// account key as the Azure portal shows it (88 characters for the 64 bytes
// of an Azure key; Azurite takes any length). Errors never hold the key.
func ParseAccountKey(name, key string) (Account, error) {
	if err := ValidateAccountName(name); err != nil {
		return Account{}, err
	}
	k, err := decodeKey(key)
	if err != nil {
		return Account{}, invalid("the account key " + err.Error())
	}
	return Account{Name: name, key: k}, nil
}

// decodeKey decodes a base64 key; its errors say why without the key.
func decodeKey(key string) ([]byte, error) {
	if key == "" {
		return nil, errString("is empty")
	}
	k, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(k) == 0 {
		// base64's own error gives the offset of the bad byte: harmless,
		// but nothing of the key is shown anyway.
		return nil, errString("is not standard base64 (A-Z a-z 0-9 + /, with = padding)")
	}
	return k, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// ValidateAccountName reports whether name is a storage account name: 3-24
// lower-case letters and digits.
func ValidateAccountName(name string) error {
	if len(name) < 3 || len(name) > 24 {
		return invalid("account name: 3-24 lower-case letters and digits")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return invalid("account name: 3-24 lower-case letters and digits")
		}
	}
	return nil
}

// The Azure Storage emulator's well-known account (Azurite's default),
// which UseDevelopmentStorage=true names.
const (
	DevelopmentAccountName  = "devstoreaccount1"
	DevelopmentAccountKey   = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	DevelopmentBlobEndpoint = "http://127.0.0.1:10000/devstoreaccount1"
)

// ConnectionString is what a storage connection string says of the Blob
// service: the account and its key, and the service's endpoint.
type ConnectionString struct {
	Account Account
	// BlobEndpoint is the Blob service's base URL, as NormalizeEndpoint
	// returns it: "https://<account>.blob.core.windows.net", or the
	// connection string's BlobEndpoint (Azurite:
	// "http://127.0.0.1:10000/devstoreaccount1").
	BlobEndpoint string
}

// ParseConnectionString parses a storage connection string: settings
// "Name=value" separated by ";" (names in any case, each at most once,
// values taken up to the next ";", so a key keeps its "=" padding):
//
//   - AccountName and AccountKey, both required;
//   - BlobEndpoint, or DefaultEndpointsProtocol (https, the default, or
//     http) and EndpointSuffix (core.windows.net by default), which make
//     https://<account>.blob.<suffix>;
//   - QueueEndpoint, TableEndpoint and FileEndpoint, ignored;
//   - or UseDevelopmentStorage=true alone: the emulator's well-known
//     account at http://127.0.0.1:10000/devstoreaccount1.
//
// A connection string with a SharedAccessSignature instead of a key is
// refused: a SAS cannot sign others. Errors name the setting, by name when
// it is one of the above and by position otherwise, and never hold a value.
func ParseConnectionString(s string) (ConnectionString, error) {
	const (
		protocol = iota
		accountName
		accountKey
		suffix
		blobEndpoint
		devStorage
		nKnown
	)
	known := map[string]int{
		"defaultendpointsprotocol": protocol, "accountname": accountName, "accountkey": accountKey,
		"endpointsuffix": suffix, "blobendpoint": blobEndpoint, "usedevelopmentstorage": devStorage,
	}
	canonical := [nKnown]string{"DefaultEndpointsProtocol", "AccountName", "AccountKey", "EndpointSuffix", "BlobEndpoint", "UseDevelopmentStorage"}
	var (
		val  [nKnown]string
		seen [nKnown]bool
	)
	n := 0
	for i, seg := range strings.Split(s, ";") {
		seg = strings.TrimSpace(seg)
		if seg == "" {
			continue
		}
		n++
		where := "connection string: setting " + strconv.Itoa(i+1)
		name, value, ok := strings.Cut(seg, "=")
		if !ok {
			return ConnectionString{}, invalid(where + " is not Name=value")
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		lower := strings.ToLower(name)
		switch lower {
		case "queueendpoint", "tableendpoint", "fileendpoint":
			continue
		case "sharedaccesssignature":
			return ConnectionString{}, invalid("connection string: SharedAccessSignature instead of AccountKey; presign signs with the account key")
		case "developmentstorageproxyuri":
			return ConnectionString{}, invalid("connection string: DevelopmentStorageProxyUri is not supported")
		}
		k, ok := known[lower]
		if !ok {
			return ConnectionString{}, invalid(where + ": an unknown name")
		}
		if seen[k] {
			return ConnectionString{}, invalid("connection string: " + canonical[k] + " twice")
		}
		if value == "" {
			return ConnectionString{}, invalid("connection string: " + canonical[k] + " is empty")
		}
		seen[k], val[k] = true, value
	}

	if seen[devStorage] {
		if !strings.EqualFold(val[devStorage], "true") {
			return ConnectionString{}, invalid("connection string: UseDevelopmentStorage is not true")
		}
		if n != 1 {
			return ConnectionString{}, invalid("connection string: UseDevelopmentStorage=true with other settings")
		}
		a, err := ParseAccountKey(DevelopmentAccountName, DevelopmentAccountKey)
		return ConnectionString{Account: a, BlobEndpoint: DevelopmentBlobEndpoint}, err
	}
	if !seen[accountName] || !seen[accountKey] {
		return ConnectionString{}, invalid("connection string: AccountName and AccountKey are required")
	}
	if err := ValidateAccountName(val[accountName]); err != nil {
		return ConnectionString{}, invalid("connection string: AccountName: 3-24 lower-case letters and digits")
	}
	k, err := decodeKey(val[accountKey])
	if err != nil {
		return ConnectionString{}, invalid("connection string: AccountKey " + err.Error())
	}
	cs := ConnectionString{Account: Account{Name: val[accountName], key: k}}

	if seen[blobEndpoint] {
		if seen[suffix] {
			return ConnectionString{}, invalid("connection string: BlobEndpoint and EndpointSuffix together")
		}
		if cs.BlobEndpoint, err = NormalizeEndpoint(val[blobEndpoint]); err != nil {
			return ConnectionString{}, invalid("connection string: BlobEndpoint: " + strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
		}
		return cs, nil
	}
	scheme := "https"
	if seen[protocol] {
		switch strings.ToLower(val[protocol]) {
		case "https":
		case "http":
			scheme = "http"
		default:
			return ConnectionString{}, invalid("connection string: DefaultEndpointsProtocol is neither https nor http")
		}
	}
	host := "core.windows.net"
	if seen[suffix] {
		host = strings.ToLower(val[suffix])
		if !hostname(host) {
			return ConnectionString{}, invalid("connection string: EndpointSuffix is not a host name")
		}
	}
	cs.BlobEndpoint = scheme + "://" + cs.Account.Name + ".blob." + host
	return cs, nil
}

// hostname reports whether h is dot-separated labels of a-z 0-9 and
// hyphens (not first or last), 1-63 bytes each.
func hostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

// NormalizeEndpoint checks the base URL of a Blob service and returns it
// without a trailing slash: http or https, a host, no user information,
// query or fragment; a path only to name an emulator's account
// ("http://127.0.0.1:10000/devstoreaccount1"). Errors do not quote it.
func NormalizeEndpoint(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || !cleanText(endpoint) {
		return "", invalid("endpoint: not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", invalid("endpoint: not http or https")
	}
	if u.Host == "" || u.Opaque != "" {
		return "", invalid("endpoint: no host")
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(endpoint, "?#") {
		return "", invalid("endpoint: user information, a query or a fragment")
	}
	if u.Port() != "" {
		if p, err := strconv.Atoi(u.Port()); err != nil || p < 1 || p > 65535 {
			return "", invalid("endpoint: a bad port")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", invalid("endpoint: a bad port")
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return "", invalid("endpoint: a . or .. path segment")
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host) + path, nil
}
