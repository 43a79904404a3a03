// A REST API (API Gateway proxy integration) in the shape of SAM's Go
// "hello world" template grown into a small orders API: routes on the
// method and path parameters, reads query strings and headers, answers JSON.
package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

type Order struct {
	ID    string   `json:"id"`
	Items []string `json:"items,omitempty"`
	Total float64  `json:"total"`
}

var orders = map[string]Order{
	"17": {ID: "17", Items: []string{"tea", "scones"}, Total: 9.5},
}

func respond(status int, body interface{}) (events.APIGatewayProxyResponse, error) {
	text, err := json.Marshal(body)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		MultiValueHeaders: map[string][]string{
			"Set-Cookie": {"seen=1", "theme=dark"},
		},
		Body: string(text),
	}, nil
}

func handler(ctx context.Context, request events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	id := request.PathParameters["id"]
	if id == "" {
		id = strings.TrimPrefix(request.Path, "/orders/")
	}
	switch request.HTTPMethod {
	case http.MethodGet:
		order, ok := orders[id]
		if !ok {
			return respond(http.StatusNotFound, map[string]string{"message": "no order " + id})
		}
		if request.QueryStringParameters["expand"] != "items" {
			order.Items = nil
		}
		return respond(http.StatusOK, map[string]interface{}{
			"order":  order,
			"agent":  request.Headers["user-agent"],
			"stage":  request.RequestContext.Stage,
			"source": request.RequestContext.Identity.SourceIP,
		})
	case http.MethodPost:
		var order Order
		if err := json.Unmarshal([]byte(request.Body), &order); err != nil {
			return respond(http.StatusBadRequest, map[string]string{"message": err.Error()})
		}
		return respond(http.StatusCreated, order)
	}
	return respond(http.StatusMethodNotAllowed, map[string]string{"message": request.HTTPMethod})
}

func main() {
	lambda.Start(handler)
}
