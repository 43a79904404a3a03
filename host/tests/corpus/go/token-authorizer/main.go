// An API Gateway TOKEN authorizer as the blueprints write it: the bearer
// token names the principal; the policy allows every method of the stage,
// carries a context, or the request is refused with "Unauthorized".
package main

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func policy(principal, effect, resource string) events.APIGatewayCustomAuthorizerResponse {
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action:   []string{"execute-api:Invoke"},
				Effect:   effect,
				Resource: []string{resource},
			}},
		},
		Context: map[string]interface{}{"tier": "gold", "quota": 100, "beta": true},
	}
}

func handler(ctx context.Context, event events.APIGatewayCustomAuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	token := strings.TrimPrefix(event.AuthorizationToken, "Bearer ")
	// arn:aws:execute-api:region:account:api/stage/METHOD/path
	arn := strings.SplitN(event.MethodArn, "/", 3)
	if len(arn) < 2 {
		return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
	}
	everything := arn[0] + "/" + arn[1] + "/*/*"
	switch {
	case strings.HasPrefix(token, "allow-"):
		return policy(strings.TrimPrefix(token, "allow-"), "Allow", everything), nil
	case strings.HasPrefix(token, "deny-"):
		return policy(strings.TrimPrefix(token, "deny-"), "Deny", everything), nil
	}
	return events.APIGatewayCustomAuthorizerResponse{}, errors.New("Unauthorized")
}

func main() {
	lambda.Start(handler)
}
