// A Cognito user pool pre sign-up trigger: users of the company's domain are
// confirmed with their e-mail verified; others must not use a reserved name.
// The event is returned with its response filled in, as Cognito expects.
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(ctx context.Context, event events.CognitoEventUserPoolsPreSignup) (events.CognitoEventUserPoolsPreSignup, error) {
	email := event.Request.UserAttributes["email"]
	if strings.HasPrefix(event.UserName, "admin") {
		return event, errors.New("reserved user name " + event.UserName)
	}
	if strings.HasSuffix(email, "@example.com") && event.TriggerSource == "PreSignUp_SignUp" {
		event.Response.AutoConfirmUser = true
		event.Response.AutoVerifyEmail = true
	}
	return event, nil
}

func main() {
	lambda.Start(handler)
}
