// A function URL handler: the method, path, query and JSON body of the
// request, and a response with a status, headers and a JSON body.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func handler(ctx context.Context, request events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	var payload map[string]interface{}
	if request.Body != "" {
		if err := json.Unmarshal([]byte(request.Body), &payload); err != nil {
			return events.LambdaFunctionURLResponse{StatusCode: 422, Body: `{"error":"body is not JSON"}`}, nil
		}
	}
	lc, _ := lambdacontext.FromContext(ctx)
	body, err := json.Marshal(map[string]interface{}{
		"method":      request.RequestContext.HTTP.Method,
		"path":        request.RawPath,
		"query":       request.QueryStringParameters,
		"payload":     payload,
		"contentType": request.Headers["content-type"],
		"distinctIds": lc.AwsRequestID != request.RequestContext.RequestID,
	})
	if err != nil {
		return events.LambdaFunctionURLResponse{}, err
	}
	return events.LambdaFunctionURLResponse{
		StatusCode: 200,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Handler": "go"},
		Body:       string(body),
	}, nil
}

func main() {
	lambda.Start(handler)
}
