package httpapi

import (
	_ "embed"
	"net/http"

	"presign.dev/presign"
)

// OpenAPI is the OpenAPI 3 document of the API, committed as openapi.json
// and tested against the handlers.
//
//go:embed openapi.json
var OpenAPI []byte

func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ presign.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
	return nil
}
