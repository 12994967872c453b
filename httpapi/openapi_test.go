package httpapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

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
	if got := h.Routes(); !reflect.DeepEqual(got, documented) {
		t.Errorf("handler routes %v\ndocumented     %v", got, documented)
	}
}

func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, typ := range map[string]reflect.Type{
		"PresignRequest":  reflect.TypeOf(PresignRequest{}),
		"PresignResponse": reflect.TypeOf(PresignResponse{}),
		"FilenameRequest": reflect.TypeOf(filenameBody{}),
	} {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("schema %s missing", name)
			continue
		}
		if got, want := keys(s.Properties), jsonFields(typ); !reflect.DeepEqual(got, want) {
			t.Errorf("schema %s has properties %v, the Go type %v", name, got, want)
		}
		if s.AdditionalProperties == nil || *s.AdditionalProperties {
			t.Errorf("schema %s allows additional properties; the handler refuses unknown fields", name)
		}
	}
	if got := doc.Components.Schemas["PresignResponse"].Required; len(got) != len(jsonFields(reflect.TypeOf(PresignResponse{}))) {
		t.Errorf("PresignResponse requires %v; every field is always present", got)
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
	if got := enums.Components.Schemas.PresignRequest.Properties.Op.Enum; !reflect.DeepEqual(got, presign.Ops) {
		t.Errorf("documented ops %v, library %v", got, presign.Ops)
	}
	if got := enums.Components.Schemas.Error.Properties.Error.Properties.Code.Enum; !reflect.DeepEqual(got, presign.Codes) {
		t.Errorf("documented error codes %v, library %v", got, presign.Codes)
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
		if k, want := keys(got), keys(doc.Components.Schemas["PresignResponse"].Properties); !reflect.DeepEqual(k, want) {
			t.Errorf("response has %v, documented %v", k, want)
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
