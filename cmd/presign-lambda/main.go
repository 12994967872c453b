// Command presign-lambda is presign as an AWS Lambda function (the
// provided.al2023 runtime's bootstrap) behind a Lambda Function URL or an
// API Gateway HTTP API (payload format 2.0, BUFFERED responses). It serves
// the same HTTP API as presign serve, configured the same way (environment
// and PRESIGN_CONFIG), without Prometheus metrics.
//
// Build it with scripts/build-lambda.sh (CGO_ENABLED=0, -tags
// lambda.norpc,nethttpomithttp2).
//
// PRESIGN_PLATFORM_AUTH takes the caller from the platform instead of the
// Authorization header:
//
//	aws_iam         the Function URL's (or route's) AWS_IAM auth: the
//	                caller is requestContext.authorizer.iam.userArn
//	                (principal kind "iam")
//	jwt_authorizer  an HTTP API JWT authorizer: the caller is the verified
//	                token's sub, with its claims (principal kind "jwt")
//
// Unset (the default), requests authenticate with Authorization: Bearer as
// everywhere else, and the authorizer context is ignored. When set, the
// Authorization header is ignored and an event without that authorizer's
// identity gets 401; API keys and JWT issuers of the configuration are not
// used. Identity is only ever taken from the event's requestContext, which
// the platform fills, never from headers.
//
// The configuration is read once, at init; it does no network I/O (JWKS are
// fetched on first use). An invalid configuration is reported to the
// Runtime API's /runtime/init/error, with every problem, and the process
// exits.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"presign.dev/internal/config"
	"presign.dev/internal/lambdaurl"
	"presign.dev/internal/service"
)

func main() {
	h, err := setup(os.LookupEnv, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "presign-lambda: %v\n", err)
		reportInitError(os.Getenv("AWS_LAMBDA_RUNTIME_API"), err)
		os.Exit(1)
	}
	lambda.Start(lambdaurl.Handler(h))
}

// setup builds the handler from the configuration.
func setup(lookup config.Lookup, logw io.Writer) (http.Handler, error) {
	cfg, err := config.LoadServing(lookup, "")
	if errors.Is(err, config.ErrNoAuth) {
		err = fmt.Errorf("%w\n(on Lambda, PRESIGN_PLATFORM_AUTH=aws_iam or jwt_authorizer authenticates too)", err)
	}
	if err != nil {
		return nil, err
	}
	auth, err := platformAuth(cfg.PlatformAuth)
	if err != nil {
		return nil, err
	}
	logger := service.NewLogger(logw, cfg.LogFormat, cfg.LogLevel, nil)
	if auth != nil && (len(cfg.APIKeys) > 0 || len(cfg.JWT) > 0) {
		logger.Warn("PRESIGN_PLATFORM_AUTH is set: the configured API keys and JWT issuers are not used")
	}
	svc, err := service.New(cfg, service.Options{Logger: logger, PlatformAuth: auth})
	if err != nil {
		return nil, err
	}
	return svc.Handler, nil
}

// reportInitError tells the Runtime API why init failed, so that the
// invocation's error says it (aws-lambda-go would only see the exit).
func reportInitError(api string, err error) {
	if api == "" {
		return
	}
	body, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "Runtime.ConfigError"})
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")
	resp, rerr := (&http.Client{Timeout: 2 * time.Second}).Do(req)
	if rerr == nil {
		resp.Body.Close()
	}
}
