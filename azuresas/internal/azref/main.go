// Command azref signs SAS with the Azure SDK for Go's SAS builder
// (github.com/Azure/azure-sdk-for-go/sdk/storage/azblob), for azuresas's
// differential tests: it reads one JSON request a line on standard input and
// answers each with one JSON line on standard output.
//
// It is its own module so that the SDK and the modules it requires stay out
// of presign's go.mod: only azuresas's differential test builds it (go build
// in this directory), and nothing presign ships links it.
//
// Every text value travels as bytes (base64 in JSON), so that text that is
// not UTF-8 reaches the SDK unchanged; times as Unix seconds, nanoseconds and
// the zone's offset, so that every instant and zone does.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"
)

// Request is one signing to do.
type Request struct {
	// Op is "sharedkey" (a service SAS with Key) or "udk" (a user delegation
	// SAS with the key of UDK, the answer of Get User Delegation Key).
	Op      string `json:"op"`
	Account string `json:"account"`
	Key     string `json:"key"` // base64, op "sharedkey"
	UDK     []byte `json:"udk"` // XML, op "udk"
	// Values are what to sign; nil with op "udk" only gets the credential.
	Values *Values `json:"values"`
}

// Values is sas.BlobSignatureValues in bytes.
type Values struct {
	Version     string `json:"version"`
	Protocol    []byte `json:"protocol"`
	Start       *Time  `json:"start"`
	Expiry      Time   `json:"expiry"`
	Permissions string `json:"permissions"`
	IPStart     string `json:"ip_start"`
	IPEnd       string `json:"ip_end"`
	Container   []byte `json:"container"`
	Blob        []byte `json:"blob"`

	CacheControl       []byte `json:"rscc"`
	ContentDisposition []byte `json:"rscd"`
	ContentEncoding    []byte `json:"rsce"`
	ContentLanguage    []byte `json:"rscl"`
	ContentType        []byte `json:"rsct"`
}

// Time is an instant in a zone.
type Time struct {
	Unix   int64 `json:"unix"`
	Nsec   int64 `json:"nsec"`
	Offset int   `json:"offset"` // seconds east of UTC
}

func (t Time) time() time.Time {
	return time.Unix(t.Unix, t.Nsec).In(time.FixedZone("", t.Offset))
}

// Answer is the SDK's result. Stage says where the SDK refused: "key" (the
// credential) or "sign".
type Answer struct {
	Query string `json:"query,omitempty"`
	Error string `json:"error,omitempty"`
	Stage string `json:"stage,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := json.NewEncoder(os.Stdout)
	for in.Scan() {
		var r Request
		var a Answer
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			a.Error = "bad request: " + err.Error()
		} else {
			a = sign(&r)
		}
		if err := out.Encode(a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func (v *Values) sdk() sas.BlobSignatureValues {
	sv := sas.BlobSignatureValues{
		Version:            v.Version,
		Protocol:           sas.Protocol(v.Protocol),
		ExpiryTime:         v.Expiry.time(),
		Permissions:        v.Permissions,
		ContainerName:      string(v.Container),
		BlobName:           string(v.Blob),
		CacheControl:       string(v.CacheControl),
		ContentDisposition: string(v.ContentDisposition),
		ContentEncoding:    string(v.ContentEncoding),
		ContentLanguage:    string(v.ContentLanguage),
		ContentType:        string(v.ContentType),
	}
	if v.Start != nil {
		sv.StartTime = v.Start.time()
	}
	if v.IPStart != "" {
		sv.IPRange.Start = net.ParseIP(v.IPStart)
		if v.IPEnd != "" {
			sv.IPRange.End = net.ParseIP(v.IPEnd)
		}
	}
	return sv
}

func sign(r *Request) Answer {
	switch r.Op {
	case "sharedkey":
		cred, err := azblob.NewSharedKeyCredential(r.Account, r.Key)
		if err != nil {
			return Answer{Error: err.Error(), Stage: "key"}
		}
		if r.Values == nil {
			return Answer{}
		}
		qp, err := r.Values.sdk().SignWithSharedKey(cred)
		if err != nil {
			return Answer{Error: err.Error(), Stage: "sign"}
		}
		return Answer{Query: qp.Encode()}
	case "udk":
		cred, err := userDelegation(r.Account, r.UDK)
		if err != nil {
			return Answer{Error: err.Error(), Stage: "key"}
		}
		if r.Values == nil {
			return Answer{}
		}
		qp, err := r.Values.sdk().SignWithUserDelegation(cred)
		if err != nil {
			return Answer{Error: err.Error(), Stage: "sign"}
		}
		return Answer{Query: qp.Encode()}
	}
	return Answer{Error: "unknown op " + r.Op}
}

// last is the credential of the last UDK answer, which the fuzz target
// often asks for again.
var last struct {
	account string
	body    []byte
	cred    *sas.UserDelegationCredential
}

// userDelegation gets the SDK's credential from body: the credential has no
// constructor but the service call, so the call is answered in process.
func userDelegation(account string, body []byte) (*sas.UserDelegationCredential, error) {
	if last.cred != nil && last.account == account && bytes.Equal(last.body, body) {
		return last.cred, nil
	}
	endpoint := "https://" + account + ".blob.core.windows.net/"
	svc, err := service.NewClient(endpoint, staticToken{}, &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: udkServer{body}, Retry: policy.RetryOptions{MaxRetries: -1},
	}})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	st, se := now.UTC().Format(sas.TimeFormat), now.Add(time.Hour).UTC().Format(sas.TimeFormat)
	cred, err := svc.GetUserDelegationCredential(context.Background(), service.KeyInfo{Start: &st, Expiry: &se}, nil)
	if err != nil {
		return nil, err
	}
	last.account, last.body, last.cred = account, bytes.Clone(body), cred
	return cred, nil
}

// udkServer answers Get User Delegation Key with body.
type udkServer struct{ body []byte }

func (s udkServer) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	if req.Method != http.MethodPost || req.URL.Query().Get("comp") != "userdelegationkey" ||
		!strings.HasPrefix(req.Header.Get("Authorization"), "Bearer ") {
		return &http.Response{StatusCode: 400, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: req}, nil
	}
	return &http.Response{
		StatusCode: 200, Header: http.Header{"Content-Type": {"application/xml"}},
		Body: io.NopCloser(bytes.NewReader(s.body)), Request: req,
	}, nil
}

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
