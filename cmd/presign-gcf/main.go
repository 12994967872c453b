// Command presign-gcf runs the Cloud Function Presign (the module's root
// package) locally under the Functions Framework for Go, as the deployed
// function runs: the function serves every path, and its configuration comes
// from the environment, exactly as in Cloud Functions.
//
//	PRESIGN_S3_BUCKET=… AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… PRESIGN_API_KEYS=… \
//	  go run ./cmd/presign-gcf
//
// It listens on 127.0.0.1:$PORT (PORT defaults to 8080). PRESIGN_GCF_HOST
// sets the host instead: 0.0.0.0, or an empty value, listens on every
// interface (a container). FUNCTION_TARGET defaults to Presign; with
// another name the framework refuses to start.
//
// This is a development runner: in Cloud Functions the buildpack generates
// its own main (functions.local/app) around the same package.
package main

import (
	"log"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"

	_ "presign.dev" // registers the function Presign
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host, set := os.LookupEnv("PRESIGN_GCF_HOST")
	if !set {
		host = "127.0.0.1"
	}
	if os.Getenv("FUNCTION_TARGET") == "" {
		// Without a target the framework serves each function only at
		// /<name>; the deployed function serves every path.
		os.Setenv("FUNCTION_TARGET", "Presign")
	}
	log.Printf("presign-gcf: serving function %s on %s:%s", os.Getenv("FUNCTION_TARGET"), host, port)
	if err := funcframework.StartHostPort(host, port); err != nil {
		log.Fatalf("presign-gcf: %v", err)
	}
}
