// Failing with a typed error: the invocation answers Lambda's error JSON,
// whose errorType is the error's Go type name.
//
// {"action": "increment", "number": 3} -> {"result":4}; any other action ->
// {"errorType":"InvalidActionError","errorMessage":"unknown action: square",...}.
package main

import (
	"fmt"

	"wasm-lambda.local/lambda"
)

type InvalidActionError struct {
	Action string
}

func (e *InvalidActionError) Error() string {
	return fmt.Sprintf("unknown action: %s", e.Action)
}

type Request struct {
	Action string `json:"action"`
	Number int64  `json:"number"`
}

type Response struct {
	Result int64 `json:"result"`
}

func handler(request Request) (Response, error) {
	if request.Action != "increment" {
		return Response{}, &InvalidActionError{Action: request.Action}
	}
	return Response{Result: request.Number + 1}, nil
}

func main() {
	lambda.Start(handler)
}
