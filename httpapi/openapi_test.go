package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"presign.dev/presign"
)

type openAPIDoc struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Required             []string                   `json:"required"`
			AdditionalProperties *bool                      `json:"additionalProperties"`
			Properties           map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	var doc openAPIDoc
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc
}

// jsonFields returns the JSON names of a struct type's fields.
func jsonFields(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIRoutesMatchHandler(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(documented)
	h := New(Options{Issuer: testIssuer(t), Auth: Open{}, Metrics: http.NotFoundHandler()})
	if diff := cmp.Diff(documented, h.Routes()); diff != "" {
		t.Errorf("routes served, want those in openapi.json (-want +got):\n%s", diff)
	}
}

func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"PresignRequest":      reflect.TypeOf(PresignRequest{}),
		"PresignResponse":     reflect.TypeOf(PresignResponse{}),
		"FilenameRequest":     reflect.TypeOf(filenameBody{}),
		"UploadStartRequest":  reflect.TypeOf(UploadStartRequest{}),
		"UploadStartResponse": reflect.TypeOf(UploadStartResponse{}),
		"PartsRequest":        reflect.TypeOf(PartsRequest{}),
		"PartChecksum":        reflect.TypeOf(PartChecksum{}),
		"PartsResponse":       reflect.TypeOf(PartsResponse{}),
		"PartURL":             reflect.TypeOf(PartURL{}),
		"UploadRef":           reflect.TypeOf(UploadRef{}),
		"ListPartsResponse":   reflect.TypeOf(ListPartsResponse{}),
		"ListedPart":          reflect.TypeOf(ListedPart{}),
		"CompleteRequest":     reflect.TypeOf(CompleteRequest{}),
		"CompletePart":        reflect.TypeOf(CompletePart{}),
		"CompleteResponse":    reflect.TypeOf(CompleteResponse{}),
		"PathTokenRequest":    reflect.TypeOf(PathTokenRequest{}),
		"PathTokenResponse":   reflect.TypeOf(PathTokenResponse{}),
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		if diff := cmp.Diff(jsonFields(typ), keys(s.Properties)); diff != "" {
			t.Errorf("schema %s properties, want the Go type's (-want +got):\n%s", name, diff)
		}
		if s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("schema %s allows additional properties; the handler refuses unknown fields", name)
		}
	}
	// Every field but upload (put and post, with uploads configured) is
	// always present, so every other one is required.
	required := slices.Sorted(slices.Values(doc.Components.Schemas["PresignResponse"].Required))
	always := slices.DeleteFunc(jsonFields(reflect.TypeOf(PresignResponse{})), func(f string) bool { return f == "upload" })
	if diff := cmp.Diff(always, required); diff != "" {
		t.Errorf("PresignResponse required properties, want every field (-want +got):\n%s", diff)
	}

	var enums struct {
		Components struct {
			Schemas struct {
				PresignRequest struct {
					Properties struct {
						Op struct {
							Enum []presign.Op `json:"enum"`
						} `json:"op"`
					} `json:"properties"`
				} `json:"PresignRequest"`
				Error struct {
					Properties struct {
						Error struct {
							Properties struct {
								Code struct {
									Enum []presign.Code `json:"enum"`
								} `json:"code"`
							} `json:"properties"`
						} `json:"error"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI, &enums); err != nil {
		t.Fatal(err)
	}
	// Every op but multipart, which starts at POST /v1/uploads.
	oneURL := slices.DeleteFunc(slices.Clone(presign.Ops), func(op presign.Op) bool { return op == presign.OpMultipart })
	if diff := cmp.Diff(oneURL, enums.Components.Schemas.PresignRequest.Properties.Op.Enum); diff != "" {
		t.Errorf("documented ops, want presign.Ops but multipart (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(presign.Codes, enums.Components.Schemas.Error.Properties.Error.Properties.Code.Enum); diff != "" {
		t.Errorf("documented error codes, want presign.Codes (-want +got):\n%s", diff)
	}
}

// A real response carries exactly the documented properties.
func TestOpenAPIResponseShape(t *testing.T) {
	doc := loadOpenAPI(t)
	h := testHandler(t, nil)
	for _, body := range []string{`{"op":"put","key":"k","content_type":"text/plain"}`, `{"op":"post","key":"k"}`} {
		rec := run(t, h, httpCase{method: "POST", target: "/v1/presign", body: body, wantStatus: 200})
		var got map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(keys(doc.Components.Schemas["PresignResponse"].Properties), keys(got)); diff != "" {
			t.Errorf("response properties, want the documented ones (-want +got):\n%s", diff)
		}
		for _, obj := range []string{"headers", "fields"} {
			if _, ok := got[obj].(map[string]any); !ok {
				t.Errorf("%s is %T, documented as an object", obj, got[obj])
			}
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Body.String() != string(OpenAPI) {
		t.Error("GET /openapi.json does not serve the committed document")
	}
}
