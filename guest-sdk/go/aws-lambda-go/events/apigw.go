package events

import (
	"io"
)

// APIGatewayProxyRequest is the event an API Gateway REST API (proxy
// integration, payload format 1.0) sends for one HTTP request.
type APIGatewayProxyRequest struct {
	Resource                        string                        `json:"resource"`
	Path                            string                        `json:"path"`
	HTTPMethod                      string                        `json:"httpMethod"`
	Headers                         map[string]string             `json:"headers"`
	MultiValueHeaders               map[string][]string           `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string             `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string           `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string             `json:"pathParameters"`
	StageVariables                  map[string]string             `json:"stageVariables"`
	RequestContext                  APIGatewayProxyRequestContext `json:"requestContext"`
	Body                            string                        `json:"body"`
	IsBase64Encoded                 bool                          `json:"isBase64Encoded,omitempty"`
}

// APIGatewayProxyResponse is what a REST API proxy handler returns: the
// status, headers and body API Gateway sends to the client.
type APIGatewayProxyResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded,omitempty"`
}

// APIGatewayProxyStreamingResponse is a REST API response whose body is
// streamed (an AWS_PROXY integration in STREAM transfer mode). Reading it
// yields the JSON prelude with the status and headers, eight zero bytes, and
// then Body. It is not JSON: MarshalJSON fails.
type APIGatewayProxyStreamingResponse struct {
	stream httpStream

	StatusCode        int
	Headers           map[string]string
	MultiValueHeaders map[string][]string
	Body              io.Reader
	Cookies           []string
}

// Read implements io.Reader over the prelude and then the body.
func (r *APIGatewayProxyStreamingResponse) Read(p []byte) (int, error) {
	return r.stream.read(p, r.Body, func() any {
		return struct {
			StatusCode        int                 `json:"statusCode,omitempty"`
			Headers           map[string]string   `json:"headers,omitempty"`
			MultiValueHeaders map[string][]string `json:"multiValueHeaders,omitempty"`
			Cookies           []string            `json:"cookies,omitempty"`
		}{r.StatusCode, r.Headers, r.MultiValueHeaders, r.Cookies}
	})
}

// Close closes Body when it is an io.Closer.
func (r *APIGatewayProxyStreamingResponse) Close() error {
	return closeBody(r.Body)
}

// MarshalJSON always fails: a streaming response is sent as a byte stream.
func (r *APIGatewayProxyStreamingResponse) MarshalJSON() ([]byte, error) {
	return nil, errNotJSON
}

// ContentType is the media type Lambda expects for an HTTP integration stream.
func (r *APIGatewayProxyStreamingResponse) ContentType() string {
	return httpIntegrationContentType
}

// APIGatewayProxyRequestContext describes the REST API request: account,
// stage, caller identity, authorizer output and timing.
type APIGatewayProxyRequestContext struct {
	AccountID         string                    `json:"accountId"`
	ResourceID        string                    `json:"resourceId"`
	OperationName     string                    `json:"operationName,omitempty"`
	Stage             string                    `json:"stage"`
	DomainName        string                    `json:"domainName"`
	DomainPrefix      string                    `json:"domainPrefix"`
	RequestID         string                    `json:"requestId"`
	ExtendedRequestID string                    `json:"extendedRequestId"`
	Protocol          string                    `json:"protocol"`
	Identity          APIGatewayRequestIdentity `json:"identity"`
	ResourcePath      string                    `json:"resourcePath"`
	Path              string                    `json:"path"`
	Authorizer        map[string]interface{}    `json:"authorizer"`
	HTTPMethod        string                    `json:"httpMethod"`
	RequestTime       string                    `json:"requestTime"`
	RequestTimeEpoch  int64                     `json:"requestTimeEpoch"`
	APIID             string                    `json:"apiId"`
}

// APIGatewayV2HTTPRequest is the event an API Gateway HTTP API sends with
// payload format 2.0.
type APIGatewayV2HTTPRequest struct {
	Version               string                         `json:"version"`
	RouteKey              string                         `json:"routeKey"`
	RawPath               string                         `json:"rawPath"`
	RawQueryString        string                         `json:"rawQueryString"`
	Cookies               []string                       `json:"cookies,omitempty"`
	Headers               map[string]string              `json:"headers"`
	QueryStringParameters map[string]string              `json:"queryStringParameters,omitempty"`
	PathParameters        map[string]string              `json:"pathParameters,omitempty"`
	RequestContext        APIGatewayV2HTTPRequestContext `json:"requestContext"`
	StageVariables        map[string]string              `json:"stageVariables,omitempty"`
	Body                  string                         `json:"body,omitempty"`
	IsBase64Encoded       bool                           `json:"isBase64Encoded"`
}

// APIGatewayV2HTTPRequestContext describes an HTTP API request: route, stage,
// account, authorizer output, mTLS details and the HTTP line.
type APIGatewayV2HTTPRequestContext struct {
	RouteKey       string                                               `json:"routeKey"`
	AccountID      string                                               `json:"accountId"`
	Stage          string                                               `json:"stage"`
	RequestID      string                                               `json:"requestId"`
	Authorizer     *APIGatewayV2HTTPRequestContextAuthorizerDescription `json:"authorizer,omitempty"`
	APIID          string                                               `json:"apiId"`
	DomainName     string                                               `json:"domainName"`
	DomainPrefix   string                                               `json:"domainPrefix"`
	Time           string                                               `json:"time"`
	TimeEpoch      int64                                                `json:"timeEpoch"`
	HTTP           APIGatewayV2HTTPRequestContextHTTPDescription        `json:"http"`
	Authentication APIGatewayV2HTTPRequestContextAuthentication         `json:"authentication,omitempty"`
}

// APIGatewayV2HTTPRequestContextAuthorizerDescription holds what the route's
// authorizer (JWT, Lambda or IAM) established about the caller.
type APIGatewayV2HTTPRequestContextAuthorizerDescription struct {
	JWT    *APIGatewayV2HTTPRequestContextAuthorizerJWTDescription `json:"jwt,omitempty"`
	Lambda map[string]interface{}                                  `json:"lambda,omitempty"`
	IAM    *APIGatewayV2HTTPRequestContextAuthorizerIAMDescription `json:"iam,omitempty"`
}

// APIGatewayV2HTTPRequestContextAuthorizerJWTDescription holds the claims and
// scopes of a token a JWT authorizer accepted.
type APIGatewayV2HTTPRequestContextAuthorizerJWTDescription struct {
	Claims map[string]string `json:"claims"`
	Scopes []string          `json:"scopes,omitempty"`
}

// APIGatewayV2HTTPRequestContextAuthorizerIAMDescription identifies a caller
// that signed the request with IAM credentials.
type APIGatewayV2HTTPRequestContextAuthorizerIAMDescription struct {
	AccessKey       string                                                  `json:"accessKey"`
	AccountID       string                                                  `json:"accountId"`
	CallerID        string                                                  `json:"callerId"`
	CognitoIdentity APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity `json:"cognitoIdentity,omitempty"`
	PrincipalOrgID  string                                                  `json:"principalOrgId"`
	UserARN         string                                                  `json:"userArn"`
	UserID          string                                                  `json:"userId"`
}

// APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity is the Cognito
// identity behind IAM credentials, when there is one.
type APIGatewayV2HTTPRequestContextAuthorizerCognitoIdentity struct {
	AMR            []string `json:"amr"`
	IdentityID     string   `json:"identityId"`
	IdentityPoolID string   `json:"identityPoolId"`
}

// APIGatewayV2HTTPRequestContextHTTPDescription is the HTTP line of an HTTP
// API request and where it came from.
type APIGatewayV2HTTPRequestContextHTTPDescription struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

// APIGatewayV2HTTPResponse is what an HTTP API (payload format 2.0) handler
// returns.
type APIGatewayV2HTTPResponse struct {
	StatusCode        int                 `json:"statusCode"`
	Headers           map[string]string   `json:"headers"`
	MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	Body              string              `json:"body"`
	IsBase64Encoded   bool                `json:"isBase64Encoded,omitempty"`
	Cookies           []string            `json:"cookies"`
}

// APIGatewayRequestIdentity describes who called a REST or WebSocket API:
// source IP, user agent, and any IAM, Cognito or API key identity.
type APIGatewayRequestIdentity struct {
	CognitoIdentityPoolID         string                                                          `json:"cognitoIdentityPoolId,omitempty"`
	AccountID                     string                                                          `json:"accountId,omitempty"`
	CognitoIdentityID             string                                                          `json:"cognitoIdentityId,omitempty"`
	Caller                        string                                                          `json:"caller,omitempty"`
	APIKey                        string                                                          `json:"apiKey,omitempty"`
	APIKeyID                      string                                                          `json:"apiKeyId,omitempty"`
	AccessKey                     string                                                          `json:"accessKey,omitempty"`
	SourceIP                      string                                                          `json:"sourceIp"`
	CognitoAuthenticationType     string                                                          `json:"cognitoAuthenticationType,omitempty"`
	CognitoAuthenticationProvider string                                                          `json:"cognitoAuthenticationProvider,omitempty"`
	UserArn                       string                                                          `json:"userArn,omitempty"`
	UserAgent                     string                                                          `json:"userAgent"`
	User                          string                                                          `json:"user,omitempty"`
	ClientCert                    *APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert `json:"clientCert,omitempty"`
}

// APIGatewayWebsocketProxyRequest is the event an API Gateway WebSocket API
// sends for a connect, disconnect or message.
type APIGatewayWebsocketProxyRequest struct {
	Resource                        string                                 `json:"resource,omitempty"`
	Path                            string                                 `json:"path,omitempty"`
	HTTPMethod                      string                                 `json:"httpMethod,omitempty"`
	Headers                         map[string]string                      `json:"headers,omitempty"`
	MultiValueHeaders               map[string][]string                    `json:"multiValueHeaders,omitempty"`
	QueryStringParameters           map[string]string                      `json:"queryStringParameters,omitempty"`
	MultiValueQueryStringParameters map[string][]string                    `json:"multiValueQueryStringParameters,omitempty"`
	PathParameters                  map[string]string                      `json:"pathParameters,omitempty"`
	StageVariables                  map[string]string                      `json:"stageVariables,omitempty"`
	RequestContext                  APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
	Body                            string                                 `json:"body,omitempty"`
	IsBase64Encoded                 bool                                   `json:"isBase64Encoded"`
}

// APIGatewayWebsocketProxyRequestContext describes a WebSocket API event:
// the connection, the route and event type, and the caller.
type APIGatewayWebsocketProxyRequestContext struct {
	AccountID            string                    `json:"accountId,omitempty"`
	ResourceID           string                    `json:"resourceId,omitempty"`
	Stage                string                    `json:"stage"`
	RequestID            string                    `json:"requestId"`
	Identity             APIGatewayRequestIdentity `json:"identity"`
	ResourcePath         string                    `json:"resourcePath,omitempty"`
	Authorizer           interface{}               `json:"authorizer,omitempty"`
	HTTPMethod           string                    `json:"httpMethod,omitempty"`
	APIID                string                    `json:"apiId"`
	ConnectedAt          int64                     `json:"connectedAt"`
	ConnectionID         string                    `json:"connectionId"`
	DomainName           string                    `json:"domainName"`
	Error                string                    `json:"error,omitempty"`
	EventType            string                    `json:"eventType"`
	ExtendedRequestID    string                    `json:"extendedRequestId"`
	IntegrationLatency   string                    `json:"integrationLatency,omitempty"`
	MessageDirection     string                    `json:"messageDirection"`
	MessageID            interface{}               `json:"messageId,omitempty"`
	RequestTime          string                    `json:"requestTime"`
	RequestTimeEpoch     int64                     `json:"requestTimeEpoch"`
	RouteKey             string                    `json:"routeKey"`
	Status               string                    `json:"status,omitempty"`
	DisconnectStatusCode int64                     `json:"disconnectStatusCode,omitempty"`
	DisconnectReason     *string                   `json:"disconnectReason,omitempty"`
}

// APIGatewayCustomAuthorizerRequestTypeRequestIdentity is the caller as a
// REQUEST-type authorizer sees it, with the client certificate under mTLS.
type APIGatewayCustomAuthorizerRequestTypeRequestIdentity struct {
	APIKey     string                                                         `json:"apiKey"`
	SourceIP   string                                                         `json:"sourceIp"`
	ClientCert APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert `json:"clientCert"`
}

// APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert is the
// client certificate presented over mutual TLS.
type APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCert struct {
	ClientCertPem string                                                                 `json:"clientCertPem"`
	IssuerDN      string                                                                 `json:"issuerDN"`
	SerialNumber  string                                                                 `json:"serialNumber"`
	SubjectDN     string                                                                 `json:"subjectDN"`
	Validity      APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCertValidity `json:"validity"`
}

// APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCertValidity is
// the validity window of an mTLS client certificate.
type APIGatewayCustomAuthorizerRequestTypeRequestIdentityClientCertValidity struct {
	NotAfter  string `json:"notAfter"`
	NotBefore string `json:"notBefore"`
}

// APIGatewayV2HTTPRequestContextAuthentication carries the mTLS client
// certificate of an HTTP API request.
type APIGatewayV2HTTPRequestContextAuthentication struct {
	ClientCert APIGatewayV2HTTPRequestContextAuthenticationClientCert `json:"clientCert"`
}

// APIGatewayV2HTTPRequestContextAuthenticationClientCert is the client
// certificate of an HTTP API request over mutual TLS.
type APIGatewayV2HTTPRequestContextAuthenticationClientCert struct {
	ClientCertPem string                                                         `json:"clientCertPem"`
	IssuerDN      string                                                         `json:"issuerDN"`
	SerialNumber  string                                                         `json:"serialNumber"`
	SubjectDN     string                                                         `json:"subjectDN"`
	Validity      APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity `json:"validity"`
}

// APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity is the
// validity window of an HTTP API mTLS client certificate.
type APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity struct {
	NotAfter  string `json:"notAfter"`
	NotBefore string `json:"notBefore"`
}

// APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext is the request
// context of an HTTP API Lambda authorizer event in payload format 1.0.
type APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext struct {
	Path         string                                               `json:"path"`
	AccountID    string                                               `json:"accountId"`
	ResourceID   string                                               `json:"resourceId"`
	Stage        string                                               `json:"stage"`
	RequestID    string                                               `json:"requestId"`
	Identity     APIGatewayCustomAuthorizerRequestTypeRequestIdentity `json:"identity"`
	ResourcePath string                                               `json:"resourcePath"`
	HTTPMethod   string                                               `json:"httpMethod"`
	APIID        string                                               `json:"apiId"`
}

// APIGatewayV2CustomAuthorizerV1Request is the event an HTTP API sends to a
// Lambda authorizer configured for payload format 1.0.
type APIGatewayV2CustomAuthorizerV1Request struct {
	Version               string                                                  `json:"version"`
	Type                  string                                                  `json:"type"`
	MethodArn             string                                                  `json:"methodArn"`
	IdentitySource        string                                                  `json:"identitySource"`
	AuthorizationToken    string                                                  `json:"authorizationToken"`
	Resource              string                                                  `json:"resource"`
	Path                  string                                                  `json:"path"`
	HTTPMethod            string                                                  `json:"httpMethod"`
	Headers               map[string]string                                       `json:"headers"`
	QueryStringParameters map[string]string                                       `json:"queryStringParameters"`
	PathParameters        map[string]string                                       `json:"pathParameters"`
	StageVariables        map[string]string                                       `json:"stageVariables"`
	RequestContext        APIGatewayV2CustomAuthorizerV1RequestTypeRequestContext `json:"requestContext"`
}

// APIGatewayV2CustomAuthorizerV2Request is the event an HTTP API sends to a
// Lambda authorizer configured for payload format 2.0.
type APIGatewayV2CustomAuthorizerV2Request struct {
	Version               string                         `json:"version"`
	Type                  string                         `json:"type"`
	RouteArn              string                         `json:"routeArn"`
	IdentitySource        []string                       `json:"identitySource"`
	RouteKey              string                         `json:"routeKey"`
	RawPath               string                         `json:"rawPath"`
	RawQueryString        string                         `json:"rawQueryString"`
	Cookies               []string                       `json:"cookies"`
	Headers               map[string]string              `json:"headers"`
	QueryStringParameters map[string]string              `json:"queryStringParameters"`
	RequestContext        APIGatewayV2HTTPRequestContext `json:"requestContext"`
	PathParameters        map[string]string              `json:"pathParameters"`
	StageVariables        map[string]string              `json:"stageVariables"`
}

// APIGatewayCustomAuthorizerContext is a fixed-shape authorizer context.
//
// Deprecated: read the authorizer output from
// APIGatewayProxyRequestContext.Authorizer instead.
type APIGatewayCustomAuthorizerContext struct {
	PrincipalID *string `json:"principalId"`
	StringKey   *string `json:"stringKey,omitempty"`
	NumKey      *int    `json:"numKey,omitempty"`
	BoolKey     *bool   `json:"boolKey,omitempty"`
}

// APIGatewayCustomAuthorizerRequestTypeRequestContext is the request context
// of a REST API REQUEST-type authorizer event.
type APIGatewayCustomAuthorizerRequestTypeRequestContext struct {
	Path         string                                               `json:"path"`
	AccountID    string                                               `json:"accountId"`
	ResourceID   string                                               `json:"resourceId"`
	Stage        string                                               `json:"stage"`
	RequestID    string                                               `json:"requestId"`
	Identity     APIGatewayCustomAuthorizerRequestTypeRequestIdentity `json:"identity"`
	ResourcePath string                                               `json:"resourcePath"`
	HTTPMethod   string                                               `json:"httpMethod"`
	APIID        string                                               `json:"apiId"`
}

// APIGatewayCustomAuthorizerRequest is the event a REST API sends to a
// TOKEN-type Lambda authorizer.
type APIGatewayCustomAuthorizerRequest struct {
	Type               string `json:"type"`
	AuthorizationToken string `json:"authorizationToken"`
	MethodArn          string `json:"methodArn"`
}

// APIGatewayCustomAuthorizerRequestTypeRequest is the event a REST API sends
// to a REQUEST-type Lambda authorizer: the whole request minus the body.
type APIGatewayCustomAuthorizerRequestTypeRequest struct {
	Type                            string                                              `json:"type"`
	MethodArn                       string                                              `json:"methodArn"`
	Resource                        string                                              `json:"resource"`
	Path                            string                                              `json:"path"`
	HTTPMethod                      string                                              `json:"httpMethod"`
	Headers                         map[string]string                                   `json:"headers"`
	MultiValueHeaders               map[string][]string                                 `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string                                   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string                                 `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string                                   `json:"pathParameters"`
	StageVariables                  map[string]string                                   `json:"stageVariables"`
	RequestContext                  APIGatewayCustomAuthorizerRequestTypeRequestContext `json:"requestContext"`
}

// APIGatewayCustomAuthorizerResponse is what a REST API Lambda authorizer
// returns: the principal, an IAM policy, and context passed to the backend.
type APIGatewayCustomAuthorizerResponse struct {
	PrincipalID        string                           `json:"principalId"`
	PolicyDocument     APIGatewayCustomAuthorizerPolicy `json:"policyDocument"`
	Context            map[string]interface{}           `json:"context,omitempty"`
	UsageIdentifierKey string                           `json:"usageIdentifierKey,omitempty"`
}

// APIGatewayV2CustomAuthorizerSimpleResponse is the "simple" response of an
// HTTP API Lambda authorizer: allowed or not, plus context.
type APIGatewayV2CustomAuthorizerSimpleResponse struct {
	IsAuthorized bool                   `json:"isAuthorized"`
	Context      map[string]interface{} `json:"context,omitempty"`
}

// APIGatewayCustomAuthorizerPolicy is the IAM policy an authorizer returns.
// It has the same shape as IAMPolicyDocument.
type APIGatewayCustomAuthorizerPolicy IAMPolicyDocument

// APIGatewayV2CustomAuthorizerIAMPolicyResponse is the IAM-policy response of
// an HTTP API Lambda authorizer.
type APIGatewayV2CustomAuthorizerIAMPolicyResponse struct {
	PrincipalID    string                           `json:"principalId"`
	PolicyDocument APIGatewayCustomAuthorizerPolicy `json:"policyDocument"`
	Context        map[string]interface{}           `json:"context,omitempty"`
}
