package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"presign.dev/presign"
)

func TestPresignList(t *testing.T) {
	h := testHandler(t, nil)
	grant := func(want presign.Request) func(*testing.T, *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			var got PresignResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if w := issued(t, want); got.Method != "GET" || got.URL != w.URL || got.Key != "" || got.Bucket != "bucket" || got.Upload != "" ||
				len(got.Headers) != 0 || len(got.Fields) != 0 {
				t.Errorf("response %+v, want the GET %s", got, w.URL)
			}
		}
	}
	for _, tc := range []httpCase{
		{name: "prefix", body: `{"op":"list","prefix":"users/alice/"}`, wantStatus: 200,
			check: grant(presign.Request{Op: presign.OpList, Prefix: "users/alice/"})},
		{name: "every field", body: `{"op":"list","prefix":"a b/","delimiter":"/","max_keys":2,"continuation_token":"1/tok+en==","expires_in":60}`, wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				grant(presign.Request{Op: presign.OpList, Prefix: "a b/", Delimiter: "/", MaxKeys: 2, ContinuationToken: "1/tok+en==", ExpiresIn: 60 * time.Second})(t, rec)
				var got PresignResponse
				_ = json.Unmarshal(rec.Body.Bytes(), &got)
				u, _ := url.Parse(got.URL)
				q := u.Query()
				if q.Get("list-type") != "2" || q.Get("prefix") != "a b/" || q.Get("delimiter") != "/" || q.Get("max-keys") != "2" ||
					q.Get("continuation-token") != "1/tok+en==" || q.Get("X-Amz-Expires") != "60" || u.Path != "/bucket/" {
					t.Errorf("URL %s", got.URL)
				}
			}},
		{name: "the whole bucket", body: `{"op":"list"}`, wantStatus: 200, check: grant(presign.Request{Op: presign.OpList})},
		{name: "null fields are absent", body: `{"op":"list","prefix":null,"max_keys":null,"delimiter":null,"continuation_token":null}`, wantStatus: 200,
			check: grant(presign.Request{Op: presign.OpList})},
		{name: "a key", body: `{"op":"list","key":"users/alice/x"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument,
			check: bodyContains("prefix, not a key")},
		{name: "a content type", body: `{"op":"list","prefix":"a/","content_type":"text/plain"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "a prefix on get", body: `{"op":"get","key":"k","prefix":"a/"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument,
			check: bodyContains("apply to list only")},
		{name: "max_keys on put", body: `{"op":"put","key":"k","max_keys":1}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "max_keys over 1000", body: `{"op":"list","max_keys":1001}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument, check: bodyContains("max_keys")},
		{name: "max_keys negative", body: `{"op":"list","max_keys":-1}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "max_keys a string", body: `{"op":"list","max_keys":"10"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument,
			check: bodyContains(`field \"max_keys\" must be of type integer`)},
		{name: "max_keys a fraction", body: `{"op":"list","max_keys":1.5}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "max_keys twice", body: `{"op":"list","max_keys":1,"max_keys":2}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "prefix with a dot-dot segment", body: `{"op":"list","prefix":"users/../"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "prefix with a control character", body: `{"op":"list","prefix":"a\u0000"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "delimiter too long", body: `{"op":"list","delimiter":"` + strings.Repeat("/", 17) + `"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "token with a control character", body: `{"op":"list","continuation_token":"a\tb"}`, wantStatus: 400, wantCode: presign.CodeInvalidArgument},
		{name: "without credential", body: `{"op":"list"}`, noAuth: true, wantStatus: 401, wantCode: presign.CodeUnauthenticated},
	} {
		tc.method, tc.target = "POST", "/v1/presign"
		t.Run(tc.name, func(t *testing.T) { run(t, h, tc) })
	}
}

// TestListAudit: the decision line of a list names its prefix, and no URL.
func TestListAudit(t *testing.T) {
	var logs bytes.Buffer
	h := testHandler(t, &logs)
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"list","prefix":"users/alice/"}`, wantStatus: 200})
	run(t, h, httpCase{method: "POST", target: "/v1/presign", body: `{"op":"list","prefix":"../"}`, wantStatus: 400})
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var decisions []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err == nil && m["msg"] == "decision" {
			decisions = append(decisions, m)
		}
	}
	if len(decisions) != 2 || decisions[0]["prefix"] != "users/alice/" || decisions[0]["allowed"] != true || decisions[0]["op"] != "list" ||
		decisions[1]["prefix"] != "../" || decisions[1]["allowed"] != false {
		t.Errorf("decision lines %v", decisions)
	}
	if strings.Contains(logs.String(), "X-Amz-Signature") {
		t.Error("a URL was logged")
	}
}
