package main

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"presign.dev/internal/config/configtest"
)

// TestCheckAgreesWithServe: for every configuration of config's tests,
// `presign config check` accepts it exactly when `presign serve` starts
// with it, and `config check --lambda` accepts at least as much (the
// Lambda function alone takes PRESIGN_PLATFORM_AUTH).
func TestCheckAgreesWithServe(t *testing.T) {
	cases, err := configtest.Cases("../../internal/config/testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range cases {
		t.Run(cs.Group+"/"+cs.Name, func(t *testing.T) {
			env := maps.Clone(cs.Env)
			env["PRESIGN_ADDR"] = "127.0.0.1:0"
			var file []string
			if cs.File != "" {
				file = []string{cs.File}
			}
			c, _, _ := testCLI(env)
			checkErr := c.run(context.Background(), append([]string{"config", "check"}, file...))
			c, _, _ = testCLI(env)
			lambdaErr := c.run(context.Background(), append([]string{"config", "check", "--lambda"}, file...))

			c, _, _ = testCLI(env)
			started := make(chan struct{}, 1)
			c.ready = func(string) { started <- struct{}{} }
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				if len(file) > 0 {
					done <- c.run(ctx, []string{"serve", "--config", file[0]})
				} else {
					done <- c.run(ctx, []string{"serve"})
				}
			}()
			var serveErr error
			select {
			case <-started:
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("serve did not stop cleanly: %v", err)
				}
			case serveErr = <-done:
				cancel()
			}
			if (checkErr == nil) != (serveErr == nil) {
				t.Errorf("config check: %v\nserve: %v", checkErr, serveErr)
			}
			// And neither agrees by refusing everything: an accepted case
			// without the Lambda-only platform identity serves, a refused
			// one is refused for its configuration.
			switch {
			case cs.Group == "effective" && cs.Env["PRESIGN_PLATFORM_AUTH"] == "" && (checkErr != nil || serveErr != nil):
				t.Errorf("an accepted configuration: config check %v, serve %v", checkErr, serveErr)
			case cs.Group == "problems" && (serveErr == nil || !strings.Contains(serveErr.Error(), "invalid configuration")):
				t.Errorf("a refused configuration: serve %v", serveErr)
			}
			if checkErr == nil && lambdaErr != nil {
				t.Errorf("config check accepts what config check --lambda refuses: %v", lambdaErr)
			}
			if (cs.Group == "effective") != (lambdaErr == nil) {
				t.Errorf("config check --lambda on a case of %s: %v", cs.Group, lambdaErr)
			}
			if errors.As(checkErr, new(usageError)) {
				t.Errorf("usage error: %v", checkErr)
			}
		})
	}
}
