// How a Go function fails: a returned error is named by its type, a
// messages.InvokeResponse_Error keeps the type it gives, a panic is named by
// its value's type, and an event that does not decode is the decoder's
// error. The options make the decoder strict and keep HTML escaped.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"
)

type Payment struct {
	Action string  `json:"action"`
	Amount float64 `json:"amount"`
	Note   string  `json:"note"`
}

type InsufficientFunds struct {
	Needed float64
}

func (e InsufficientFunds) Error() string {
	return fmt.Sprintf("insufficient funds: %.2f more needed", e.Needed)
}

type DeclinedError struct{ Code int }

func (e *DeclinedError) Error() string { return fmt.Sprintf("card declined (%d)", e.Code) }

var ErrFrozen = errors.New("account frozen")

func handle(ctx context.Context, p Payment) (map[string]string, error) {
	switch p.Action {
	case "value-error":
		return nil, InsufficientFunds{Needed: p.Amount - 10}
	case "pointer-error":
		return nil, &DeclinedError{Code: 51}
	case "wrapped":
		return nil, fmt.Errorf("charging %.0f: %w", p.Amount, ErrFrozen)
	case "typed":
		return nil, messages.InvokeResponse_Error{Type: "PaymentRejected", Message: "amount over limit"}
	case "panic-string":
		panic("ledger unavailable")
	case "panic-error":
		panic(fmt.Errorf("ledger: %w", ErrFrozen))
	case "index":
		var none []int
		return map[string]string{"n": fmt.Sprint(none[int(p.Amount)])}, nil
	}
	return map[string]string{"note": p.Note}, nil
}

func main() {
	lambda.StartWithOptions(handle,
		lambda.WithDisallowUnknownFields(true),
		lambda.WithSetEscapeHTML(true))
}
