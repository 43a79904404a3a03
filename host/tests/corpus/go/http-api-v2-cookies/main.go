// An HTTP API (payload format 2.0) handler without a context argument: the
// cookies array, a base64 body, the route key and the request context's
// method and source address, answered with cookies and a base64 body.
package main

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func handler(request events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	body := request.Body
	if request.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 400, Body: err.Error()}, nil
		}
		body = string(decoded)
	}
	cookies := append([]string(nil), request.Cookies...)
	sort.Strings(cookies)
	summary := fmt.Sprintf("%s %s from %s: %q; cookies %s; coupon %s",
		request.RequestContext.HTTP.Method, request.RawPath, request.RequestContext.HTTP.SourceIP,
		body, strings.Join(cookies, ","), request.QueryStringParameters["coupon"])
	return events.APIGatewayV2HTTPResponse{
		StatusCode:      200,
		Headers:         map[string]string{"content-type": "text/plain"},
		Cookies:         []string{"visited=" + request.RouteKey},
		Body:            base64.StdEncoding.EncodeToString([]byte(summary)),
		IsBase64Encoded: true,
	}, nil
}

func main() {
	lambda.Start(handler)
}
