package events

import (
	"io"
	"net/http"
)

// LambdaFunctionURLRequest is the event a Lambda function URL sends for one
// HTTP request (the HTTP API 2.0 payload format, without routes or stages).
type LambdaFunctionURLRequest struct {
	Version               string                          `json:"version"`
	RawPath               string                          `json:"rawPath"`
	RawQueryString        string                          `json:"rawQueryString"`
	Cookies               []string                        `json:"cookies,omitempty"`
	Headers               map[string]string               `json:"headers"`
	QueryStringParameters map[string]string               `json:"queryStringParameters,omitempty"`
	RequestContext        LambdaFunctionURLRequestContext `json:"requestContext"`
	Body                  string                          `json:"body,omitempty"`
	IsBase64Encoded       bool                            `json:"isBase64Encoded"`
}

// LambdaFunctionURLRequestContext describes a function URL request: account,
// URL id and domain, IAM caller, time and the HTTP line.
type LambdaFunctionURLRequestContext struct {
	AccountID    string                                                `json:"accountId"`
	RequestID    string                                                `json:"requestId"`
	Authorizer   *LambdaFunctionURLRequestContextAuthorizerDescription `json:"authorizer,omitempty"`
	APIID        string                                                `json:"apiId"`
	DomainName   string                                                `json:"domainName"`
	DomainPrefix string                                                `json:"domainPrefix"`
	Time         string                                                `json:"time"`
	TimeEpoch    int64                                                 `json:"timeEpoch"`
	HTTP         LambdaFunctionURLRequestContextHTTPDescription        `json:"http"`
}

// LambdaFunctionURLRequestContextAuthorizerDescription is present when the
// URL uses AWS_IAM auth and names the signing principal.
type LambdaFunctionURLRequestContextAuthorizerDescription struct {
	IAM *LambdaFunctionURLRequestContextAuthorizerIAMDescription `json:"iam,omitempty"`
}

// LambdaFunctionURLRequestContextAuthorizerIAMDescription identifies the IAM
// principal that signed a function URL request.
type LambdaFunctionURLRequestContextAuthorizerIAMDescription struct {
	AccessKey string `json:"accessKey"`
	AccountID string `json:"accountId"`
	CallerID  string `json:"callerId"`
	UserARN   string `json:"userArn"`
	UserID    string `json:"userId"`
}

// LambdaFunctionURLRequestContextHTTPDescription is the HTTP line of a
// function URL request and where it came from.
type LambdaFunctionURLRequestContextHTTPDescription struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// LambdaFunctionURLResponse is the HTTP response a function URL handler
// returns in BUFFERED invoke mode.
type LambdaFunctionURLResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Cookies         []string          `json:"cookies"`
}

// LambdaFunctionURLStreamingResponse is the response of a function URL in
// RESPONSE_STREAM invoke mode. Reading it yields a JSON prelude with the
// status (200 when StatusCode is zero), headers and cookies, eight zero
// bytes, then Body. It is not JSON: MarshalJSON fails.
type LambdaFunctionURLStreamingResponse struct {
	stream httpStream

	StatusCode int
	Headers    map[string]string
	Body       io.Reader
	Cookies    []string
}

// Read implements io.Reader over the prelude and then the body.
func (r *LambdaFunctionURLStreamingResponse) Read(p []byte) (int, error) {
	return r.stream.read(p, r.Body, func() any {
		if r.StatusCode == 0 {
			r.StatusCode = http.StatusOK
		}
		return struct {
			StatusCode int               `json:"statusCode"`
			Headers    map[string]string `json:"headers,omitempty"`
			Cookies    []string          `json:"cookies,omitempty"`
		}{r.StatusCode, r.Headers, r.Cookies}
	})
}

// Close closes Body when it is an io.Closer.
func (r *LambdaFunctionURLStreamingResponse) Close() error {
	return closeBody(r.Body)
}

// MarshalJSON always fails: a streaming response is sent as a byte stream.
func (r *LambdaFunctionURLStreamingResponse) MarshalJSON() ([]byte, error) {
	return nil, errNotJSON
}

// ContentType is the media type Lambda expects for an HTTP integration stream.
func (r *LambdaFunctionURLStreamingResponse) ContentType() string {
	return httpIntegrationContentType
}
