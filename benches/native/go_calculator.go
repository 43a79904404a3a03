// The calculator handler of examples/go/calculator as a native Go process,
// the baseline `wasm-lambda bench --vs-native` compares a Go component's cold
// start with: `go build -o go-calculator benches/native/go_calculator.go`,
// then `./go-calculator < event.json`.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

type Request struct {
	Action *string `json:"action"`
	Number int64   `json:"number"`
}

type Response struct {
	Result *int64 `json:"result"`
}

func main() {
	var request Request
	if err := json.NewDecoder(os.Stdin).Decode(&request); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var response Response
	if request.Action != nil && *request.Action == "increment" {
		result := request.Number + 1
		response.Result = &result
	}
	out, _ := json.Marshal(response)
	fmt.Println(string(out))
}
