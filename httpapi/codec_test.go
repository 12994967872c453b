package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"presign.dev/presign"
)

func stdEncode(t testing.TB, v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// stdDecode decodes data as the handler would with encoding/json.
func stdDecode(data []byte) (PresignRequest, error) {
	var r PresignRequest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return r, io.ErrUnexpectedEOF
	}
	return r, nil
}

func TestAppendGrantMatchesEncodingJSON(t *testing.T) {
	for _, g := range []PresignResponse{
		{Method: "PUT", URL: "http://127.0.0.1:9000/b/k?X-Amz-A=1&b=2", Headers: map[string]string{"Content-Type": "image/png", "Content-Length": "5"},
			Fields: map[string]string{}, Key: "k", Bucket: "b", ExpiresAt: time.Date(2026, 5, 24, 12, 15, 0, 0, time.UTC)},
		{Method: "POST", URL: "u", Headers: nil, Fields: map[string]string{"key": "a\"b\\c\n\u2028<&>\x01é🐱", "policy": "x"},
			Key: "a\"b\\c\n\u2028<&>\x01é🐱", Bucket: "b", ExpiresAt: time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))},
		{Method: "PUT", URL: "u", Headers: map[string]string{"x-amz-meta-presign-upload": "0123456789abcdef"}, Fields: map[string]string{},
			Key: "k", Bucket: "b", ExpiresAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Upload: "u1.t1.AQOC-_x"},
	} {
		if got, want := string(appendGrant(nil, &g)), stdEncode(t, g); got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "https://bucket.example/key?X-Amz-Signature=0123456789abcdef\"0123456789\x01abcdefgh\u2028", "\"\\/\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029", "é🐱", "\xff\xfe", "<script>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendString(nil, s)) + "\n"
		if want := stdEncode(t, s); got != want {
			t.Fatalf("appendString(%q) = %s, encoding/json %s", s, got, want)
		}
	})
}

// FuzzDecodePresignRequest: whatever the hand-written decoder accepts,
// encoding/json (with DisallowUnknownFields) decodes to the same request;
// and every request encoding/json encodes, the decoder reads back exactly.
func FuzzDecodePresignRequest(f *testing.F) {
	for _, s := range []string{
		`{"op":"put","key":"a b","content_type":"image/png","content_length":42,"metadata":{"a":"b"},"expires_in":60}`,
		`{"op":"get","key":"\u00e9\ud83d\udc31\ud800x\\\"","filename":null,"content_length":null,"metadata":{}}`,
		`{"op":"get","key":"k"} x`, `{"OP":"get"}`, `{"op":"get","op":"put"}`, `{"content_length":1e3}`, `{"content_length":-0}`,
		`{"content_length":9223372036854775808}`, `{"metadata":{"a":1}}`, `[]`, ` {} `, `{"key":"\u0000"}`, `{"expires_in":01}`,
		`{"op":"list","prefix":"users/alice/","delimiter":"/","max_keys":1000,"continuation_token":"1/ab+c=="}`,
		`{"op":"list","prefix":null,"delimiter":null,"max_keys":null,"continuation_token":null}`, `{"max_keys":9223372036854775807}`,
		`{"max_keys":-9223372036854775808}`, `{"max_keys":1e2}`, `{"max_keys":"1"}`, `{"prefix":"a","prefix":"b"}`, `{"delimiter":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return // readBody refuses it first
		}
		got, err := decodePresignRequest(data)
		if err != nil {
			if presign.ErrorCode(err) != presign.CodeInvalidArgument || presign.ErrorMessage(err) == "" {
				t.Fatalf("error %v is not a clear invalid_argument", err)
			}
			return
		}
		want, err := stdDecode(data)
		if err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", data, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decoding %q, want what encoding/json decodes (-want +got):\n%s", data, diff)
		}
	})
}

func FuzzDecodeEncodedRequest(f *testing.F) {
	f.Add("put", "a b", "image/png", "m", "v\"\n", int64(42), int64(60), true, "", "", 0, "")
	f.Add("list", "", "", "", "", int64(0), int64(60), false, "users/alice/\u2028\"", "/", 1000, "1/ab+c==")
	f.Fuzz(func(t *testing.T, op, key, ctype, mk, mv string, length, expires int64, hasMeta bool, prefix, delimiter string, maxKeys int, token string) {
		in := PresignRequest{Op: presign.Op(op), Key: key, ContentType: ctype, ContentLength: &length, ExpiresIn: &expires,
			Prefix: prefix, Delimiter: delimiter, MaxKeys: maxKeys, ContinuationToken: token}
		if hasMeta {
			in.Metadata = map[string]string{mk: mv}
		}
		data := []byte(stdEncode(t, in))
		got, err := decodePresignRequest(data)
		if err != nil {
			t.Fatalf("refused %s: %v", data, err)
		}
		want, _ := stdDecode(data)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("decoding %s, want what encoding/json decodes (-want +got):\n%s", data, diff)
		}
	})
}
