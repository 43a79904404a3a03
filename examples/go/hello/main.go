// Returning a message: the first example of Lambda's Python handler guide, in Go.
//
// {"first_name": "John", "last_name": "Smith"} -> {"message":"Hello John Smith!"}.
package main

import (
	"fmt"

	"wasm-lambda.local/lambda"
)

type Request struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type Response struct {
	Message string `json:"message"`
}

func handler(request Request) (Response, error) {
	return Response{Message: fmt.Sprintf("Hello %s %s!", request.FirstName, request.LastName)}, nil
}

func main() {
	lambda.Start(handler)
}
