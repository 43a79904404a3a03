// Returning a calculation: the third example of Lambda's Python handler guide, in Go.
//
// {"action": "increment", "number": 3} -> {"result":4}. Any other action is
// logged as an error and answered with {"result":null}.
package main

import (
	"context"
	"fmt"
	"os"

	"wasm-lambda.local/lambda"
)

type Request struct {
	Action *string `json:"action"`
	Number int64   `json:"number"`
}

type Response struct {
	Result *int64 `json:"result"`
}

func handler(ctx context.Context, request Request) (Response, error) {
	lc, _ := lambda.FromContext(ctx)
	if request.Action != nil && *request.Action == "increment" {
		result := request.Number + 1
		fmt.Printf("[INFO]\t%s\tCalculated result of %d\n", lc.AwsRequestID, result)
		return Response{Result: &result}, nil
	}
	action := "None"
	if request.Action != nil {
		action = *request.Action
	}
	fmt.Fprintf(os.Stderr, "[ERROR]\t%s\t%s is not a valid action.\n", lc.AwsRequestID, action)
	return Response{}, nil
}

func main() {
	lambda.Start(handler)
}
