// Command hello is the floor of BenchmarkColdStart: the smallest Function
// URL handler on lambda.Start, built with the same flags as presign-lambda.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayV2HTTPRequest) (events.LambdaFunctionURLResponse, error) {
		return events.LambdaFunctionURLResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Body: "hello"}, nil
	})
}
