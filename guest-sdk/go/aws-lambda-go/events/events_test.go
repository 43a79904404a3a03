package events

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The files under testdata/ are the sample events `wasm-lambda event <kind>`
// prints (see the name of each file for the kind; the flags used are noted
// beside each test).

// decodeSample decodes testdata/<name>.json into v. With strict set, a key
// in the sample that matches no field of v fails the test (encoding/json
// matches case-insensitively; checkReencode pins the exact spelling).
func decodeSample(t *testing.T, name string, v any, strict bool) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %s into %T: %v", name, v, err)
	}
	return raw
}

// generic turns JSON text (or a value, marshalled first) into maps and slices.
func generic(t *testing.T, v any) map[string]any {
	t.Helper()
	raw, ok := v.([]byte)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			t.Fatalf("marshal %T: %v", v, err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", raw, err)
	}
	return m
}

// at walks a dotted path of object keys (and numeric array indexes).
func at(t *testing.T, m map[string]any, path string) any {
	t.Helper()
	var cur any = m
	for _, part := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[part]
			if !ok {
				t.Fatalf("%s: no key %q in %v", path, part, c)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				t.Fatalf("%s: no index %q in %v", path, part, c)
			}
			cur = c[i]
		default:
			t.Fatalf("%s: %q reached a leaf %v", path, part, cur)
		}
	}
	return cur
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// keyDiff compares two decoded JSON objects: the key paths only in a, the key
// paths only in b, and the paths whose values differ. It descends into
// objects, and into arrays of equal length (indexes become path parts).
func keyDiff(prefix string, a, b map[string]any) (onlyA, onlyB, differ []string) {
	var walk func(p string, av, bv any)
	walk = func(p string, av, bv any) {
		am, aIsMap := av.(map[string]any)
		bm, bIsMap := bv.(map[string]any)
		if aIsMap && bIsMap {
			for k, x := range am {
				if y, ok := bm[k]; ok {
					walk(p+k+".", x, y)
				} else {
					onlyA = append(onlyA, p+k)
				}
			}
			for k := range bm {
				if _, ok := am[k]; !ok {
					onlyB = append(onlyB, p+k)
				}
			}
			return
		}
		al, aIsList := av.([]any)
		bl, bIsList := bv.([]any)
		if aIsList && bIsList && len(al) == len(bl) {
			for i := range al {
				walk(p+strconv.Itoa(i)+".", al[i], bl[i])
			}
			return
		}
		if !reflect.DeepEqual(av, bv) {
			differ = append(differ, strings.TrimSuffix(p, "."))
		}
	}
	walk(prefix, a, b)
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	sort.Strings(differ)
	return
}

// checkReencode marshals the decoded value v and compares it with the sample
// it came from. encoding/json matches keys case-insensitively when decoding,
// so this is what pins the exact JSON names: the sample's keys must come back
// unchanged, except the listed ones dropped (omitempty, or fields the type
// lacks), added (fields the sample lacks), or changed (re-formatted values).
func checkReencode(t *testing.T, raw []byte, v any, dropped, added, changed []string) {
	t.Helper()
	onlyOrig, onlyRe, differ := keyDiff("", generic(t, raw), generic(t, v))
	eq(t, "keys dropped by re-encoding", onlyOrig, dropped)
	eq(t, "keys added by re-encoding", onlyRe, added)
	eq(t, "values changed by re-encoding", differ, changed)
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

// --- API Gateway REST ---------------------------------------------------

// wasm-lambda event apigw-rest --method POST --path '/orders/17?color=red&size=L&size=XL' --body '{"qty":2}'
func TestAPIGatewayRESTSample(t *testing.T) {
	var req APIGatewayProxyRequest
	raw := decodeSample(t, "apigw-rest", &req, true)

	eq(t, "HTTPMethod", req.HTTPMethod, "POST")
	eq(t, "Path", req.Path, "/orders/17")
	eq(t, "Resource", req.Resource, "/orders/17")
	eq(t, "Body", req.Body, `{"qty":2}`)
	eq(t, "IsBase64Encoded", req.IsBase64Encoded, false)
	eq(t, "QueryStringParameters", req.QueryStringParameters, map[string]string{"color": "red", "size": "XL"})
	eq(t, "MultiValueQueryStringParameters[size]", req.MultiValueQueryStringParameters["size"], []string{"L", "XL"})
	eq(t, "Headers[content-type]", req.Headers["content-type"], "application/json")
	eq(t, "MultiValueHeaders[user-agent]", req.MultiValueHeaders["user-agent"], []string{"curl/8.5.0"})
	if req.PathParameters != nil || req.StageVariables != nil {
		t.Errorf("null maps decoded as %v, %v", req.PathParameters, req.StageVariables)
	}
	rc := req.RequestContext
	eq(t, "Stage", rc.Stage, "prod")
	eq(t, "RequestContext.Path", rc.Path, "/prod/orders/17")
	eq(t, "RequestContext.HTTPMethod", rc.HTTPMethod, "POST")
	eq(t, "ResourcePath", rc.ResourcePath, "/orders/17")
	eq(t, "APIID", rc.APIID, "1234567890")
	eq(t, "AccountID", rc.AccountID, "000000000000")
	eq(t, "Identity.SourceIP", rc.Identity.SourceIP, "198.51.100.7")
	eq(t, "Identity.UserAgent", rc.Identity.UserAgent, "curl/8.5.0")
	if rc.RequestID == "" || rc.RequestTimeEpoch < 1_700_000_000_000 || !strings.HasSuffix(rc.RequestTime, "+0000") {
		t.Errorf("request id/time not decoded: %q %d %q", rc.RequestID, rc.RequestTimeEpoch, rc.RequestTime)
	}

	// Re-encoding keeps every key and value of the sample, except
	// isBase64Encoded (omitempty when false), and adds only the context
	// fields the sample lacks.
	checkReencode(t, raw, req, []string{"isBase64Encoded"}, []string{
		"requestContext.authorizer", "requestContext.domainPrefix",
		"requestContext.extendedRequestId", "requestContext.resourceId",
	}, nil)
}

func TestAPIGatewayProxyResponseJSON(t *testing.T) {
	in := `{"statusCode":201,"headers":{"content-type":"text/plain"},"multiValueHeaders":{"set-cookie":["a=1","b=2"]},"body":"created","isBase64Encoded":true}`
	var resp APIGatewayProxyResponse
	if err := json.Unmarshal([]byte(in), &resp); err != nil {
		t.Fatal(err)
	}
	eq(t, "StatusCode", resp.StatusCode, 201)
	eq(t, "MultiValueHeaders", resp.MultiValueHeaders["set-cookie"], []string{"a=1", "b=2"})
	checkReencode(t, []byte(in), resp, nil, nil, nil)

	// A handler's plain response: isBase64Encoded is left out when false,
	// the others are always there.
	out := generic(t, APIGatewayProxyResponse{StatusCode: 200, Body: "ok"})
	eq(t, "response keys", keys(out), []string{"body", "headers", "multiValueHeaders", "statusCode"})
	eq(t, "statusCode", out["statusCode"], any(200.0))
}

// --- API Gateway HTTP API (v2) -------------------------------------------

// wasm-lambda event apigw-http --method PUT --path '/v2/items/9?tag=a&tag=b&q=x%20y' --body 'hello http'
func TestAPIGatewayHTTPSample(t *testing.T) {
	var req APIGatewayV2HTTPRequest
	raw := decodeSample(t, "apigw-http", &req, true)

	eq(t, "Version", req.Version, "2.0")
	eq(t, "RouteKey", req.RouteKey, "PUT /v2/items/9")
	eq(t, "RawPath", req.RawPath, "/v2/items/9")
	eq(t, "RawQueryString", req.RawQueryString, "tag=a&tag=b&q=x%20y")
	eq(t, "QueryStringParameters", req.QueryStringParameters, map[string]string{"tag": "a,b", "q": "x y"})
	eq(t, "Body", req.Body, "hello http")
	h := req.RequestContext.HTTP
	eq(t, "HTTP", h, APIGatewayV2HTTPRequestContextHTTPDescription{
		Method: "PUT", Path: "/v2/items/9", Protocol: "HTTP/1.1", SourceIP: "198.51.100.7", UserAgent: "curl/8.5.0",
	})
	eq(t, "Stage", req.RequestContext.Stage, "$default")
	eq(t, "DomainPrefix", req.RequestContext.DomainPrefix, "abcdefghij")
	if req.RequestContext.Authorizer != nil {
		t.Errorf("Authorizer = %+v, want nil", req.RequestContext.Authorizer)
	}

	checkReencode(t, raw, req, nil, []string{"requestContext.authentication"}, nil)
}

func TestAPIGatewayV2HTTPResponseJSON(t *testing.T) {
	in := `{"statusCode":302,"headers":{"location":"/x"},"multiValueHeaders":null,"body":"","isBase64Encoded":true,"cookies":["s=1; HttpOnly"]}`
	var resp APIGatewayV2HTTPResponse
	if err := json.Unmarshal([]byte(in), &resp); err != nil {
		t.Fatal(err)
	}
	eq(t, "Cookies", resp.Cookies, []string{"s=1; HttpOnly"})
	checkReencode(t, []byte(in), resp, nil, nil, nil)
	out := generic(t, APIGatewayV2HTTPResponse{StatusCode: 200})
	eq(t, "plain response keys", keys(out), []string{"body", "cookies", "headers", "multiValueHeaders", "statusCode"})
}

func TestAPIGatewayV2AuthorizerDescriptions(t *testing.T) {
	in := `{"version":"2.0","rawPath":"/p","requestContext":{"authorizer":{
		"jwt":{"claims":{"sub":"u-1"},"scopes":["read"]},
		"lambda":{"tenant":"t-9"},
		"iam":{"accessKey":"AK","accountId":"111","callerId":"C","principalOrgId":"o-1","userArn":"arn:aws:iam::111:user/x","userId":"U",
		       "cognitoIdentity":{"amr":["authenticated"],"identityId":"id-1","identityPoolId":"pool-1"}}}}}`
	var req APIGatewayV2HTTPRequest
	if err := json.Unmarshal([]byte(in), &req); err != nil {
		t.Fatal(err)
	}
	a := req.RequestContext.Authorizer
	if a == nil || a.JWT == nil || a.IAM == nil {
		t.Fatalf("authorizer not decoded: %+v", a)
	}
	eq(t, "JWT.Claims[sub]", a.JWT.Claims["sub"], "u-1")
	eq(t, "JWT.Scopes", a.JWT.Scopes, []string{"read"})
	eq(t, "Lambda[tenant]", a.Lambda["tenant"], any("t-9"))
	eq(t, "IAM.UserARN", a.IAM.UserARN, "arn:aws:iam::111:user/x")
	eq(t, "IAM.PrincipalOrgID", a.IAM.PrincipalOrgID, "o-1")
	eq(t, "IAM.CognitoIdentity.AMR", a.IAM.CognitoIdentity.AMR, []string{"authenticated"})
}

// --- Custom authorizers ---------------------------------------------------

func TestCustomAuthorizerRequests(t *testing.T) {
	var tok APIGatewayCustomAuthorizerRequest
	if err := json.Unmarshal([]byte(`{"type":"TOKEN","authorizationToken":"Bearer abc","methodArn":"arn:aws:execute-api:us-east-1:1:api/prod/GET/x"}`), &tok); err != nil {
		t.Fatal(err)
	}
	eq(t, "token request", tok, APIGatewayCustomAuthorizerRequest{Type: "TOKEN", AuthorizationToken: "Bearer abc", MethodArn: "arn:aws:execute-api:us-east-1:1:api/prod/GET/x"})

	var rq APIGatewayCustomAuthorizerRequestTypeRequest
	in := `{"type":"REQUEST","methodArn":"arn:m","resource":"/r","path":"/r","httpMethod":"GET",
		"headers":{"x-key":"k"},"multiValueQueryStringParameters":{"a":["1","2"]},
		"requestContext":{"stage":"dev","identity":{"sourceIp":"10.0.0.1","clientCert":{"subjectDN":"CN=client","validity":{"notAfter":"2030"}}}}}`
	if err := json.Unmarshal([]byte(in), &rq); err != nil {
		t.Fatal(err)
	}
	eq(t, "Headers", rq.Headers["x-key"], "k")
	eq(t, "MultiValueQueryStringParameters", rq.MultiValueQueryStringParameters["a"], []string{"1", "2"})
	eq(t, "Identity.SourceIP", rq.RequestContext.Identity.SourceIP, "10.0.0.1")
	eq(t, "ClientCert.SubjectDN", rq.RequestContext.Identity.ClientCert.SubjectDN, "CN=client")
	eq(t, "ClientCert.Validity.NotAfter", rq.RequestContext.Identity.ClientCert.Validity.NotAfter, "2030")

	var v2 APIGatewayV2CustomAuthorizerV2Request
	in = `{"version":"2.0","type":"REQUEST","routeArn":"arn:r","identitySource":["Bearer x"],"routeKey":"GET /a",
		"cookies":["c=1"],"requestContext":{"http":{"method":"GET","path":"/a"}},"pathParameters":{"id":"7"}}`
	if err := json.Unmarshal([]byte(in), &v2); err != nil {
		t.Fatal(err)
	}
	eq(t, "IdentitySource", v2.IdentitySource, []string{"Bearer x"})
	eq(t, "RouteArn", v2.RouteArn, "arn:r")
	eq(t, "HTTP.Method", v2.RequestContext.HTTP.Method, "GET")
	eq(t, "PathParameters", v2.PathParameters["id"], "7")
}

func TestCustomAuthorizerResponses(t *testing.T) {
	resp := APIGatewayCustomAuthorizerResponse{
		PrincipalID: "user-1",
		PolicyDocument: APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{"arn:aws:execute-api:*"},
			}},
		},
	}
	m := generic(t, resp)
	eq(t, "keys", keys(m), []string{"policyDocument", "principalId"})
	eq(t, "policy version", at(t, m, "policyDocument.Version"), any("2012-10-17"))
	eq(t, "statement effect", at(t, m, "policyDocument.Statement.0.Effect"), any("Allow"))
	eq(t, "statement action", at(t, m, "policyDocument.Statement.0.Action.0"), any("execute-api:Invoke"))
	eq(t, "statement resource", at(t, m, "policyDocument.Statement.0.Resource.0"), any("arn:aws:execute-api:*"))

	resp.Context = map[string]interface{}{"tier": "gold"}
	resp.UsageIdentifierKey = "key-1"
	m = generic(t, resp)
	eq(t, "context", at(t, m, "context.tier"), any("gold"))
	eq(t, "usageIdentifierKey", at(t, m, "usageIdentifierKey"), any("key-1"))

	simple := generic(t, APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false})
	eq(t, "simple keys", keys(simple), []string{"isAuthorized"})
	simple = generic(t, APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]interface{}{"n": 1}})
	eq(t, "simple isAuthorized", simple["isAuthorized"], any(true))
	eq(t, "simple context", at(t, simple, "context.n"), any(1.0))

	iam := generic(t, APIGatewayV2CustomAuthorizerIAMPolicyResponse{PrincipalID: "p", PolicyDocument: APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17"}})
	eq(t, "iam keys", keys(iam), []string{"policyDocument", "principalId"})
}

// --- Streaming HTTP responses ---------------------------------------------

func TestStreamingResponses(t *testing.T) {
	r := &APIGatewayProxyStreamingResponse{
		StatusCode: 206,
		Headers:    map[string]string{"content-type": "text/plain"},
		Body:       strings.NewReader("chunk-1 chunk-2"),
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	prelude, body, ok := bytes.Cut(got, make([]byte, 8))
	if !ok {
		t.Fatalf("no 8-byte separator in %q", got)
	}
	eq(t, "body", string(body), "chunk-1 chunk-2")
	pm := generic(t, prelude)
	eq(t, "prelude keys", keys(pm), []string{"headers", "statusCode"})
	eq(t, "prelude status", pm["statusCode"], any(206.0))
	if _, err := json.Marshal(r); err == nil {
		t.Error("marshalling a streaming response succeeded")
	}
	eq(t, "ContentType", r.ContentType(), "application/vnd.awslambda.http-integration-response")

	u := &LambdaFunctionURLStreamingResponse{Cookies: []string{"a=b"}}
	got, err = io.ReadAll(u)
	if err != nil {
		t.Fatal(err)
	}
	prelude, body, _ = bytes.Cut(got, make([]byte, 8))
	eq(t, "function URL body", string(body), "")
	pm = generic(t, prelude)
	eq(t, "function URL default status", pm["statusCode"], any(200.0))
	eq(t, "function URL cookies", at(t, pm, "cookies.0"), any("a=b"))
	eq(t, "function URL content type", u.ContentType(), r.ContentType())
}

// --- Lambda function URLs -------------------------------------------------

// wasm-lambda event function-url --method POST --path '/hook?token=abc' --body '{"ping":true}'
func TestFunctionURLSample(t *testing.T) {
	var req LambdaFunctionURLRequest
	// Not strict: the payload also carries routeKey and stage ("$default"),
	// which aws-lambda-go's type has no fields for.
	raw := decodeSample(t, "function-url", &req, false)
	checkReencode(t, raw, req, []string{"requestContext.routeKey", "requestContext.stage", "routeKey"}, nil, nil)

	eq(t, "Version", req.Version, "2.0")
	eq(t, "RawPath", req.RawPath, "/hook")
	eq(t, "RawQueryString", req.RawQueryString, "token=abc")
	eq(t, "QueryStringParameters", req.QueryStringParameters, map[string]string{"token": "abc"})
	eq(t, "Body", req.Body, `{"ping":true}`)
	eq(t, "Headers[content-type]", req.Headers["content-type"], "application/json")
	rc := req.RequestContext
	eq(t, "HTTP.Method", rc.HTTP.Method, "POST")
	eq(t, "HTTP.Path", rc.HTTP.Path, "/hook")
	eq(t, "HTTP.SourceIP", rc.HTTP.SourceIP, "198.51.100.7")
	eq(t, "APIID", rc.APIID, "abcdefghij")
	eq(t, "DomainName", rc.DomainName, "abcdefghij.lambda-url.us-east-1.on.aws")
	if rc.TimeEpoch < 1_700_000_000_000 || rc.Authorizer != nil {
		t.Errorf("TimeEpoch %d, Authorizer %+v", rc.TimeEpoch, rc.Authorizer)
	}

	out := generic(t, LambdaFunctionURLResponse{StatusCode: 200, Body: "pong"})
	eq(t, "response keys", keys(out), []string{"body", "cookies", "headers", "isBase64Encoded", "statusCode"})
}

// --- ALB -------------------------------------------------------------------

// wasm-lambda event alb --method DELETE --path '/users/5?force=true' --body 'bye'
func TestALBSample(t *testing.T) {
	var req ALBTargetGroupRequest
	raw := decodeSample(t, "alb", &req, true)

	eq(t, "HTTPMethod", req.HTTPMethod, "DELETE")
	eq(t, "Path", req.Path, "/users/5")
	eq(t, "QueryStringParameters", req.QueryStringParameters, map[string]string{"force": "true"})
	eq(t, "Body", req.Body, "bye")
	eq(t, "Headers[host]", req.Headers["host"], "abcdefghij.lambda-url.us-east-1.on.aws")
	eq(t, "TargetGroupArn", req.RequestContext.ELB.TargetGroupArn,
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/my-targets/73e2d6bc24d8a067")

	checkReencode(t, raw, req, nil, nil, nil)

	out := generic(t, ALBTargetGroupResponse{StatusCode: 204})
	eq(t, "response keys", keys(out), []string{"headers", "isBase64Encoded", "multiValueHeaders", "statusCode", "statusDescription"})
	out = generic(t, ALBTargetGroupResponse{StatusCode: 200, Body: "ok"})
	eq(t, "response body", out["body"], any("ok"))
}

// --- SQS -------------------------------------------------------------------

// wasm-lambda event sqs --message 'order #42 shipped'
func TestSQSSample(t *testing.T) {
	var ev SQSEvent
	raw := decodeSample(t, "sqs", &ev, true)
	checkReencode(t, raw, ev, nil, []string{"Records.0.md5OfMessageAttributes"}, nil)
	if len(ev.Records) != 1 {
		t.Fatalf("%d records", len(ev.Records))
	}
	m := ev.Records[0]
	eq(t, "Body", m.Body, "order #42 shipped")
	eq(t, "MessageId", m.MessageId, "059f36b4-87a3-44ab-83d2-661975830a7d")
	eq(t, "ReceiptHandle", m.ReceiptHandle, "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a")
	eq(t, "EventSource", m.EventSource, "aws:sqs")
	eq(t, "EventSourceARN", m.EventSourceARN, "arn:aws:sqs:us-east-1:123456789012:my-queue")
	eq(t, "AWSRegion", m.AWSRegion, "us-east-1")
	eq(t, "ApproximateReceiveCount", m.Attributes["ApproximateReceiveCount"], "1")
	eq(t, "SentTimestamp", m.Attributes["SentTimestamp"], "1795780800000")
	if m.MessageAttributes == nil || len(m.MessageAttributes) != 0 {
		t.Errorf("MessageAttributes = %#v, want an empty map", m.MessageAttributes)
	}
}

func TestSQSMessageAttributesAndBatchResponse(t *testing.T) {
	in := `{"messageAttributes":{
		"kind":{"stringValue":"invoice","stringListValues":[],"binaryListValues":[],"dataType":"String"},
		"blob":{"binaryValue":"AAEC/w==","dataType":"Binary"}}}`
	var m SQSMessage
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	kind := m.MessageAttributes["kind"]
	if kind.StringValue == nil || *kind.StringValue != "invoice" || kind.DataType != "String" {
		t.Errorf("kind = %+v", kind)
	}
	eq(t, "blob.BinaryValue", m.MessageAttributes["blob"].BinaryValue, []byte{0, 1, 2, 255})

	out := generic(t, SQSEventResponse{BatchItemFailures: []SQSBatchItemFailure{{ItemIdentifier: "msg-2"}}})
	eq(t, "batch failure id", at(t, out, "batchItemFailures.0.itemIdentifier"), any("msg-2"))
}

// --- SNS -------------------------------------------------------------------

// wasm-lambda event sns --message '{"alert":"disk full"}'
func TestSNSSample(t *testing.T) {
	var ev SNSEvent
	raw := decodeSample(t, "sns", &ev, true)
	// time.Time re-encodes "...00.000Z" as "...00Z".
	checkReencode(t, raw, ev, nil, nil, []string{"Records.0.Sns.Timestamp"})
	if len(ev.Records) != 1 {
		t.Fatalf("%d records", len(ev.Records))
	}
	r := ev.Records[0]
	eq(t, "EventSource", r.EventSource, "aws:sns")
	eq(t, "EventSubscriptionArn", r.EventSubscriptionArn, "arn:aws:sns:us-east-1:123456789012:my-topic:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55")
	n := r.SNS
	eq(t, "Subject", n.Subject, "example subject")
	eq(t, "TopicArn", n.TopicArn, "arn:aws:sns:us-east-1:123456789012:my-topic")
	eq(t, "MessageID", n.MessageID, "95df01b4-ee98-5cb9-9903-4c221d41eb5e")
	eq(t, "Type", n.Type, "Notification")
	eq(t, "SigningCertURL", n.SigningCertURL, "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem")
	eq(t, "UnsubscribeURL", n.UnsubscribeURL, "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe")
	if !n.Timestamp.Equal(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("Timestamp = %v", n.Timestamp)
	}
	var payload struct {
		Alert string `json:"alert"`
	}
	if err := json.Unmarshal([]byte(n.Message), &payload); err != nil || payload.Alert != "disk full" {
		t.Errorf("Message %q -> %+v, %v", n.Message, payload, err)
	}
	if n.MessageAttributes == nil || len(n.MessageAttributes) != 0 {
		t.Errorf("MessageAttributes = %#v, want an empty map", n.MessageAttributes)
	}
}

func TestSNSMessageAttributes(t *testing.T) {
	in := `{"MessageAttributes":{"priority":{"Type":"Number","Value":"5"},"tag":{"Type":"String","Value":"blue"}}}`
	var n SNSEntity
	if err := json.Unmarshal([]byte(in), &n); err != nil {
		t.Fatal(err)
	}
	attr, ok := n.MessageAttributes["priority"].(map[string]interface{})
	if !ok {
		t.Fatalf("priority is %T", n.MessageAttributes["priority"])
	}
	eq(t, "priority.Type", attr["Type"], any("Number"))
	eq(t, "priority.Value", attr["Value"], any("5"))
}

// --- S3 --------------------------------------------------------------------

// wasm-lambda event s3-put --bucket photo-uploads --key 'my%20file.txt'
// (the key as stored contains a literal "%20", which S3 sends as "%2520")
// wasm-lambda event s3-put --bucket photo-uploads --key 'holiday 2026/a+b.jpg'
func TestS3PutSamples(t *testing.T) {
	for _, c := range []struct{ sample, key, decoded string }{
		{"s3-put-percent", "my%2520file.txt", "my%20file.txt"},
		{"s3-put-space", "holiday+2026/a%2Bb.jpg", "holiday 2026/a+b.jpg"},
	} {
		var ev S3Event
		raw := decodeSample(t, c.sample, &ev, true)
		checkReencode(t, raw, ev, nil,
			[]string{"Records.0.s3.object.urlDecodedKey", "Records.0.s3.object.versionId"},
			[]string{"Records.0.eventTime"}) // time.Time drops the ".000"
		if len(ev.Records) != 1 {
			t.Fatalf("%s: %d records", c.sample, len(ev.Records))
		}
		r := ev.Records[0]
		eq(t, c.sample+" EventName", r.EventName, "ObjectCreated:Put")
		eq(t, c.sample+" EventSource", r.EventSource, "aws:s3")
		eq(t, c.sample+" Bucket.Name", r.S3.Bucket.Name, "photo-uploads")
		eq(t, c.sample+" Bucket.Arn", r.S3.Bucket.Arn, "arn:aws:s3:::photo-uploads")
		eq(t, c.sample+" Object.Key", r.S3.Object.Key, c.key)
		eq(t, c.sample+" Object.URLDecodedKey", r.S3.Object.URLDecodedKey, c.decoded)
		eq(t, c.sample+" Object.Size", r.S3.Object.Size, int64(1024))
		eq(t, c.sample+" Object.ETag", r.S3.Object.ETag, "0123456789abcdef0123456789abcdef")
		eq(t, c.sample+" PrincipalID", r.PrincipalID.PrincipalID, "EXAMPLE")
		eq(t, c.sample+" SourceIPAddress", r.RequestParameters.SourceIPAddress, "127.0.0.1")
		eq(t, c.sample+" x-amz-request-id", r.ResponseElements["x-amz-request-id"], "EXAMPLE123456789")
		eq(t, c.sample+" ConfigurationID", r.S3.ConfigurationID, "testConfigRule")
		if !r.EventTime.Equal(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) {
			t.Errorf("%s EventTime = %v", c.sample, r.EventTime)
		}
		if r.GlacierEventData != nil || r.ReplicationEventData != nil {
			t.Errorf("%s: optional event data set", c.sample)
		}
	}
}

func TestS3ObjectBadKey(t *testing.T) {
	var o S3Object
	if err := json.Unmarshal([]byte(`{"key":"bad%zzkey"}`), &o); err == nil {
		t.Errorf("a key with a broken escape decoded: %+v", o)
	}
}

// --- DynamoDB streams ------------------------------------------------------

// wasm-lambda event dynamodb-stream --message 'stored in dynamo'
func TestDynamoDBStreamSample(t *testing.T) {
	var ev DynamoDBEvent
	raw := decodeSample(t, "dynamodb-stream", &ev, true)
	checkReencode(t, raw, ev, nil, nil, nil)
	if len(ev.Records) != 1 {
		t.Fatalf("%d records", len(ev.Records))
	}
	r := ev.Records[0]
	eq(t, "EventName", DynamoDBOperationType(r.EventName), DynamoDBOperationTypeInsert)
	eq(t, "EventID", r.EventID, "c4ca4238a0b923820dcc509a6f75849b")
	eq(t, "EventSourceArn", r.EventSourceArn, "arn:aws:dynamodb:us-east-1:123456789012:table/my-table/stream/2026-11-27T00:00:00.000")
	eq(t, "AWSRegion", r.AWSRegion, "us-east-1")
	c := r.Change
	eq(t, "StreamViewType", DynamoDBStreamViewType(c.StreamViewType), DynamoDBStreamViewTypeNewAndOldImages)
	eq(t, "SequenceNumber", c.SequenceNumber, "4421584500000000017450439091")
	eq(t, "SizeBytes", c.SizeBytes, int64(26))
	eq(t, "ApproximateCreationDateTime", c.ApproximateCreationDateTime.Unix(), int64(1795780800))
	if c.OldImage != nil || r.UserIdentity != nil {
		t.Errorf("OldImage %v, UserIdentity %v", c.OldImage, r.UserIdentity)
	}

	msg := c.NewImage["Message"]
	eq(t, "Message type", msg.DataType(), DataTypeString)
	eq(t, "Message", msg.String(), "stored in dynamo")
	id := c.NewImage["Id"]
	eq(t, "Id type", id.DataType(), DataTypeNumber)
	eq(t, "Id.Number", id.Number(), "101")
	n, err := id.Integer()
	eq(t, "Id.Integer", n, int64(101))
	eq(t, "Id.Integer error", err, error(nil))
	f, err := c.Keys["Id"].Float()
	eq(t, "Keys.Id.Float", f, 101.0)
	eq(t, "Keys.Id.Float error", err, error(nil))

	// The record survives a round trip.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back DynamoDBEventRecord
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	eq(t, "round-tripped record", back, r)
}

func TestDynamoDBAttributeRoundTrip(t *testing.T) {
	nested := NewMapAttribute(map[string]DynamoDBAttributeValue{
		"tags":  NewStringSetAttribute([]string{"a", "b"}),
		"items": NewListAttribute([]DynamoDBAttributeValue{NewNumberAttribute("1.5"), NewNullAttribute(), NewBooleanAttribute(false)}),
	})
	cases := []struct {
		name string
		av   DynamoDBAttributeValue
		json string
		kind DynamoDBDataType
		get  func(DynamoDBAttributeValue) any
		want any
	}{
		{"S", NewStringAttribute("héllo \"q\""), `{"S":"héllo \"q\""}`, DataTypeString,
			func(a DynamoDBAttributeValue) any { return a.String() }, "héllo \"q\""},
		{"N", NewNumberAttribute("-12.75"), `{"N":"-12.75"}`, DataTypeNumber,
			func(a DynamoDBAttributeValue) any { return a.Number() }, "-12.75"},
		{"B", NewBinaryAttribute([]byte{0, 1, 254}), `{"B":"AAH+"}`, DataTypeBinary,
			func(a DynamoDBAttributeValue) any { return a.Binary() }, []byte{0, 1, 254}},
		{"BOOL", NewBooleanAttribute(true), `{"BOOL":true}`, DataTypeBoolean,
			func(a DynamoDBAttributeValue) any { return a.Boolean() }, true},
		{"NULL", NewNullAttribute(), `{"NULL":true}`, DataTypeNull,
			func(a DynamoDBAttributeValue) any { return a.IsNull() }, true},
		{"SS", NewStringSetAttribute([]string{"x", "y"}), `{"SS":["x","y"]}`, DataTypeStringSet,
			func(a DynamoDBAttributeValue) any { return a.StringSet() }, []string{"x", "y"}},
		{"NS", NewNumberSetAttribute([]string{"1", "2.5"}), `{"NS":["1","2.5"]}`, DataTypeNumberSet,
			func(a DynamoDBAttributeValue) any { return a.NumberSet() }, []string{"1", "2.5"}},
		{"BS", NewBinarySetAttribute([][]byte{{1}, {2, 3}}), `{"BS":["AQ==","AgM="]}`, DataTypeBinarySet,
			func(a DynamoDBAttributeValue) any { return a.BinarySet() }, [][]byte{{1}, {2, 3}}},
		{"L", NewListAttribute([]DynamoDBAttributeValue{NewStringAttribute("a"), NewNumberAttribute("2")}),
			`{"L":[{"S":"a"},{"N":"2"}]}`, DataTypeList,
			func(a DynamoDBAttributeValue) any {
				l := a.List()
				return []string{l[0].String(), l[1].Number()}
			}, []string{"a", "2"}},
		{"M", nested,
			`{"M":{"items":{"L":[{"N":"1.5"},{"NULL":true},{"BOOL":false}]},"tags":{"SS":["a","b"]}}}`, DataTypeMap,
			func(a DynamoDBAttributeValue) any {
				m := a.Map()
				items := m["items"].List()
				return []any{m["tags"].StringSet(), items[0].Number(), items[1].IsNull(), items[2].Boolean()}
			}, []any{[]string{"a", "b"}, "1.5", true, false}},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.av)
		if err != nil {
			t.Errorf("%s: marshal: %v", c.name, err)
			continue
		}
		if !jsonEqual(t, b, []byte(c.json)) {
			t.Errorf("%s: marshalled %s, want %s", c.name, b, c.json)
		}
		var back DynamoDBAttributeValue
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%s: unmarshal %s: %v", c.name, b, err)
			continue
		}
		eq(t, c.name+" DataType", back.DataType(), c.kind)
		eq(t, c.name+" value", c.get(back), c.want)
		eq(t, c.name+" round trip", back, c.av)
		eq(t, c.name+" IsNull", back.IsNull(), c.kind == DataTypeNull)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

func TestDynamoDBAttributeWrongTypePanics(t *testing.T) {
	s := NewStringAttribute("text")
	for name, call := range map[string]func(){
		"Number":    func() { s.Number() },
		"Integer":   func() { _, _ = s.Integer() },
		"Float":     func() { _, _ = s.Float() },
		"Binary":    func() { s.Binary() },
		"Boolean":   func() { s.Boolean() },
		"BinarySet": func() { s.BinarySet() },
		"List":      func() { s.List() },
		"Map":       func() { s.Map() },
		"NumberSet": func() { s.NumberSet() },
		"StringSet": func() { s.StringSet() },
	} {
		func() {
			defer func() {
				r := recover()
				e, ok := r.(IncompatibleDynamoDBTypeError)
				if !ok {
					t.Errorf("%s on a string: recovered %#v, want IncompatibleDynamoDBTypeError", name, r)
					return
				}
				eq(t, name+" Actual", e.Actual, DataTypeString)
				if e.Requested == DataTypeString || e.Error() == "" {
					t.Errorf("%s: %+v", name, e)
				}
			}()
			call()
		}()
	}

	// String does not panic on other types; it formats the value instead.
	n := NewNumberAttribute("101")
	if got := n.String(); !strings.Contains(got, "101") {
		t.Errorf("String() of a number = %q", got)
	}
}

func TestDynamoDBNumberConversions(t *testing.T) {
	f := NewNumberAttribute("123.45")
	i, err := f.Integer()
	eq(t, "Integer(123.45)", i, int64(123))
	eq(t, "Integer(123.45) error", err, error(nil))
	if _, err := f.Int64(); err == nil {
		t.Error("Int64(123.45) succeeded")
	}
	fl, _ := f.Float()
	eq(t, "Float", fl, 123.45)
	big := NewNumberAttribute("9223372036854775807")
	i, err = big.Int64()
	eq(t, "Int64(max)", i, int64(9223372036854775807))
	eq(t, "Int64(max) error", err, error(nil))
	if _, err := NewNumberAttribute("abc").Integer(); err == nil {
		t.Error("Integer(abc) succeeded")
	}
}

func TestDynamoDBAttributeDecodeErrors(t *testing.T) {
	var av DynamoDBAttributeValue
	err := json.Unmarshal([]byte(`{"X":1}`), &av)
	var unsupported UnsupportedDynamoDBTypeError
	if !errors.As(err, &unsupported) || unsupported.Type != "X" {
		t.Errorf("unknown type key: err = %v", err)
	}
	eq(t, "after unknown type", av.DataType(), DataTypeNull)
	if !av.IsNull() {
		t.Error("value after an unknown type key is not null")
	}

	// An unknown type deep inside a list is still recognisable.
	err = json.Unmarshal([]byte(`{"L":[{"S":"a"},{"Q":1}]}`), &av)
	if !errors.As(err, &unsupported) || unsupported.Type != "Q" {
		t.Errorf("nested unknown type: err = %v", err)
	}

	for _, bad := range []string{
		`{}`, `{"S":"a","N":"1"}`, `null`, `"S"`, `{"S":5}`, `{"S":null}`, `{"N":1}`, `{"B":"***"}`,
		`{"BOOL":"true"}`, `{"SS":["a",1]}`, `{"NS":null}`, `{"BS":["AQ==","!"]}`, `{"L":{}}`, `{"M":[]}`,
		`{"M":{"k":{"S":1}}}`, `{"L":[null]}`,
	} {
		if err := json.Unmarshal([]byte(bad), &av); err == nil {
			t.Errorf("%s decoded without error into %v", bad, av)
		}
	}
}

// --- Kinesis ---------------------------------------------------------------

// wasm-lambda event kinesis --message 'kinesis payload 123'
func TestKinesisSample(t *testing.T) {
	var ev KinesisEvent
	raw := decodeSample(t, "kinesis", &ev, true)
	checkReencode(t, raw, ev, nil, nil, nil)
	if len(ev.Records) != 1 {
		t.Fatalf("%d records", len(ev.Records))
	}
	r := ev.Records[0]
	eq(t, "Data", string(r.Kinesis.Data), "kinesis payload 123")
	eq(t, "PartitionKey", r.Kinesis.PartitionKey, "1")
	eq(t, "SequenceNumber", r.Kinesis.SequenceNumber, "49590338271490256608559692538361571095921575989136588898")
	eq(t, "EventName", r.EventName, "aws:kinesis:record")
	eq(t, "EventSourceArn", r.EventSourceArn, "arn:aws:kinesis:us-east-1:123456789012:stream/my-stream")
	eq(t, "InvokeIdentityArn", r.InvokeIdentityArn, "arn:aws:iam::123456789012:role/lambda-role")
	eq(t, "AwsRegion", r.AwsRegion, "us-east-1")
	if ts := r.Kinesis.ApproximateArrivalTimestamp; !ts.Equal(time.Unix(1795780800, 500_000_000)) {
		t.Errorf("ApproximateArrivalTimestamp = %v", ts.Time)
	}

	m := generic(t, r.Kinesis)
	eq(t, "re-encoded data", m["data"], any("a2luZXNpcyBwYXlsb2FkIDEyMw=="))
	eq(t, "re-encoded arrival", m["approximateArrivalTimestamp"], any(1795780800.5))
	if _, ok := m["encryptionType"]; ok {
		t.Error("empty encryptionType was not omitted")
	}

	out := generic(t, KinesisEventResponse{BatchItemFailures: []KinesisBatchItemFailure{{ItemIdentifier: r.Kinesis.SequenceNumber}}})
	eq(t, "failure id", at(t, out, "batchItemFailures.0.itemIdentifier"), any(r.Kinesis.SequenceNumber))
}

func TestTimeWindowEvents(t *testing.T) {
	in := `{"Records":[{"kinesis":{"data":"aGk="}}],"window":{"start":"2026-11-27T12:00:00Z","end":"2026-11-27T12:05:00Z"},
		"state":{"count":"3"},"shardId":"shard-1","eventSourceARN":"arn:k","isFinalInvokeForWindow":true,"isWindowTerminatedEarly":false}`
	var ev KinesisTimeWindowEvent
	if err := json.Unmarshal([]byte(in), &ev); err != nil {
		t.Fatal(err)
	}
	eq(t, "record data", string(ev.Records[0].Kinesis.Data), "hi")
	eq(t, "window length", ev.Window.End.Sub(ev.Window.Start.Time), 5*time.Minute)
	eq(t, "state", ev.State["count"], "3")
	eq(t, "final", ev.IsFinalInvokeForWindow, true)
	eq(t, "shard", ev.ShardID, "shard-1")

	out := generic(t, DynamoDBTimeWindowEventResponse{
		TimeWindowEventResponseProperties: TimeWindowEventResponseProperties{State: map[string]string{"count": "4"}},
		BatchItemFailures:                 []DynamoDBBatchItemFailure{{ItemIdentifier: "seq-9"}},
	})
	eq(t, "response state", at(t, out, "state.count"), any("4"))
	eq(t, "response failure", at(t, out, "batchItemFailures.0.itemIdentifier"), any("seq-9"))
	eq(t, "window re-encoded", generic(t, ev)["window"], any(map[string]any{"start": "2026-11-27T12:00:00Z", "end": "2026-11-27T12:05:00Z"}))
}

// --- EventBridge / CloudWatch Events ---------------------------------------

// wasm-lambda event eventbridge --message 'order placed event'
func TestEventBridgeSample(t *testing.T) {
	var ev EventBridgeEvent
	raw := decodeSample(t, "eventbridge", &ev, true)
	checkReencode(t, raw, ev, nil, nil, nil)
	eq(t, "DetailType", ev.DetailType, "Order Placed")
	eq(t, "Source", ev.Source, "com.example.orders")
	eq(t, "AccountID", ev.AccountID, "123456789012")
	eq(t, "Region", ev.Region, "us-east-1")
	eq(t, "Version", ev.Version, "0")
	eq(t, "ID", ev.ID, "fe8d3c65-xmpl-c5c3-2c87-81584709a377")
	if !ev.Time.Equal(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", ev.Time)
	}
	if ev.Resources == nil || len(ev.Resources) != 0 {
		t.Errorf("Resources = %#v", ev.Resources)
	}
	var detail struct {
		Message string `json:"message"`
		OrderID string `json:"orderId"`
	}
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		t.Fatal(err)
	}
	eq(t, "detail.message", detail.Message, "order placed event")
	eq(t, "detail.orderId", detail.OrderID, "1234")
}

// wasm-lambda event scheduled
func TestScheduledSample(t *testing.T) {
	var ev CloudWatchEvent
	raw := decodeSample(t, "scheduled", &ev, true)
	checkReencode(t, raw, ev, nil, nil, nil)
	eq(t, "DetailType", ev.DetailType, "Scheduled Event")
	eq(t, "Source", ev.Source, "aws.events")
	eq(t, "Resources", ev.Resources, []string{"arn:aws:events:us-east-1:123456789012:rule/my-schedule"})
	eq(t, "Detail", string(ev.Detail), "{}")
	eq(t, "Time", ev.Time.UTC().Format(time.RFC3339), "2026-11-27T12:00:00Z")
}

// --- CloudWatch Logs -------------------------------------------------------

// wasm-lambda event cloudwatch-logs --message 'ERROR something broke'
func TestCloudwatchLogsSample(t *testing.T) {
	var ev CloudwatchLogsEvent
	raw := decodeSample(t, "cloudwatch-logs", &ev, true)
	checkReencode(t, raw, ev, nil, nil, nil)
	d, err := ev.AWSLogs.Parse()
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "Owner", d.Owner, "123456789012")
	eq(t, "LogGroup", d.LogGroup, "/aws/lambda/my-function")
	eq(t, "MessageType", d.MessageType, "DATA_MESSAGE")
	eq(t, "SubscriptionFilters", d.SubscriptionFilters, []string{"my-filter"})
	if !strings.HasPrefix(d.LogStream, "2026/11/27/[$LATEST]") {
		t.Errorf("LogStream = %q", d.LogStream)
	}
	if len(d.LogEvents) != 2 {
		t.Fatalf("%d log events", len(d.LogEvents))
	}
	eq(t, "first message", d.LogEvents[0].Message, "ERROR something broke")
	eq(t, "first timestamp", d.LogEvents[0].Timestamp, int64(1795780800000))
	eq(t, "first id", d.LogEvents[0].ID, "37801226744484574690463633211937716466934493218014494720")
	eq(t, "second message", d.LogEvents[1].Message, "[ERROR] second line")

	// The parsed data re-encodes to the JSON inside the payload.
	zipped, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	checkReencode(t, inner, d, nil, nil, nil)
}

func TestCloudwatchLogsParseErrors(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte("not json"))
	zw.Close()
	for name, data := range map[string]string{
		"not base64": "%%%",
		"not gzip":   base64.StdEncoding.EncodeToString([]byte("plain text")),
		"not json":   base64.StdEncoding.EncodeToString(zipped.Bytes()),
	} {
		_, err := (CloudwatchLogsRawData{Data: data}).Parse()
		if err == nil {
			t.Errorf("%s: Parse succeeded", name)
		}
		var syntax *json.SyntaxError
		if name == "not json" && !errors.As(err, &syntax) {
			t.Errorf("not json: err = %v, want a JSON syntax error", err)
		}
	}
}

// --- Epoch times -----------------------------------------------------------

func TestSecondsEpochTime(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		json string
	}{
		{time.Unix(1795780800, 0), "1795780800"},
		{time.Unix(1795780800, 250_000_000), "1795780800.25"},
		{time.Unix(1795780800, 123_456_789), "1795780800.123456789"},
		{time.Unix(-2, 500_000_000), "-1.5"},
		{time.Unix(0, -250_000_000), "-0.25"},
	} {
		b, err := json.Marshal(SecondsEpochTime{c.t})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "marshal "+c.json, string(b), c.json)
		var back SecondsEpochTime
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !back.Equal(c.t) {
			t.Errorf("unmarshal %s = %v, want %v", b, back.Time, c.t)
		}
	}
	var e SecondsEpochTime
	if err := json.Unmarshal([]byte("1.5e3"), &e); err != nil || !e.Equal(time.Unix(1500, 0)) {
		t.Errorf("1.5e3 -> %v, %v", e.Time, err)
	}
	if err := json.Unmarshal([]byte(`"1795780800"`), &e); err == nil {
		t.Error("a string decoded as epoch seconds")
	}
}

func TestMilliSecondsEpochTime(t *testing.T) {
	b, err := json.Marshal(MilliSecondsEpochTime{time.UnixMilli(1795780800123)})
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "marshal", string(b), "1795780800123")
	var e MilliSecondsEpochTime
	if err := json.Unmarshal([]byte("1795780800123"), &e); err != nil {
		t.Fatal(err)
	}
	eq(t, "unmarshal", e.UnixMilli(), int64(1795780800123))
	eq(t, "nanoseconds", e.Nanosecond(), 123_000_000)
	if err := json.Unmarshal([]byte("12.5"), &e); err == nil {
		t.Error("a fractional millisecond count decoded")
	}
}

// --- Cognito user pool triggers -------------------------------------------

// cognitoHeader is the common start of the trigger events in AWS's
// documentation.
const cognitoHeader = `"version":"1","region":"us-east-1","userPoolId":"us-east-1_EXAMPLE","userName":"alice",
	"callerContext":{"awsSdkVersion":"aws-sdk-js-3.0","clientId":"1example23456789"},`

func cognitoDecode(t *testing.T, trigger, rest string, v any) {
	t.Helper()
	in := "{" + cognitoHeader + `"triggerSource":"` + trigger + `",` + rest + "}"
	if err := json.Unmarshal([]byte(in), v); err != nil {
		t.Fatalf("%s: %v", trigger, err)
	}
}

func TestCognitoHeaderAndPreSignup(t *testing.T) {
	var ev CognitoEventUserPoolsPreSignup
	cognitoDecode(t, "PreSignUp_SignUp", `"request":{"userAttributes":{"email":"alice@example.com"},"validationData":{"v":"1"},"clientMetadata":{"src":"web"}},
		"response":{"autoConfirmUser":false,"autoVerifyEmail":false,"autoVerifyPhone":false}`, &ev)
	eq(t, "UserName", ev.UserName, "alice")
	eq(t, "TriggerSource", ev.TriggerSource, "PreSignUp_SignUp")
	eq(t, "UserPoolID", ev.UserPoolID, "us-east-1_EXAMPLE")
	eq(t, "ClientID", ev.CallerContext.ClientID, "1example23456789")
	eq(t, "AWSSDKVersion", ev.CallerContext.AWSSDKVersion, "aws-sdk-js-3.0")
	eq(t, "email", ev.Request.UserAttributes["email"], "alice@example.com")
	eq(t, "validationData", ev.Request.ValidationData["v"], "1")
	eq(t, "clientMetadata", ev.Request.ClientMetadata["src"], "web")

	ev.Response.AutoConfirmUser = true
	ev.Response.AutoVerifyEmail = true
	out := generic(t, ev)
	eq(t, "response", out["response"], any(map[string]any{"autoConfirmUser": true, "autoVerifyEmail": true, "autoVerifyPhone": false}))
	// The header is flattened into the event, as Cognito sends it.
	eq(t, "userName", out["userName"], any("alice"))
	eq(t, "triggerSource", out["triggerSource"], any("PreSignUp_SignUp"))
	eq(t, "callerContext.clientId", at(t, out, "callerContext.clientId"), any("1example23456789"))
}

func TestCognitoEmptyResponses(t *testing.T) {
	var pre CognitoEventUserPoolsPreAuthentication
	cognitoDecode(t, "PreAuthentication_Authentication", `"request":{"userAttributes":{"sub":"s-1"},"validationData":{}},"response":{}`, &pre)
	eq(t, "pre auth sub", pre.Request.UserAttributes["sub"], "s-1")
	var post CognitoEventUserPoolsPostAuthentication
	cognitoDecode(t, "PostAuthentication_Authentication", `"request":{"newDeviceUsed":true,"userAttributes":{"sub":"s-2"}},"response":{}`, &post)
	eq(t, "newDeviceUsed", post.Request.NewDeviceUsed, true)
	var conf CognitoEventUserPoolsPostConfirmation
	cognitoDecode(t, "PostConfirmation_ConfirmSignUp", `"request":{"userAttributes":{"cognito:user_status":"CONFIRMED"}},"response":{}`, &conf)
	eq(t, "user status", conf.Request.UserAttributes["cognito:user_status"], "CONFIRMED")
	for name, v := range map[string]any{"pre": pre, "post": post, "confirm": conf} {
		eq(t, name+" response", generic(t, v)["response"], any(map[string]any{}))
	}
}

func TestCognitoPreTokenGen(t *testing.T) {
	var v1 CognitoEventUserPoolsPreTokenGen
	cognitoDecode(t, "TokenGeneration_HostedAuth", `"request":{"userAttributes":{"email":"a@b.c"},
		"groupConfiguration":{"groupsToOverride":["admins"],"iamRolesToOverride":[],"preferredRole":null}},"response":{}`, &v1)
	eq(t, "groups", v1.Request.GroupConfiguration.GroupsToOverride, []string{"admins"})
	if v1.Request.GroupConfiguration.PreferredRole != nil {
		t.Error("null preferredRole decoded as non-nil")
	}
	role := "arn:aws:iam::1:role/r"
	v1.Response.ClaimsOverrideDetails = ClaimsOverrideDetails{
		ClaimsToAddOrOverride: map[string]string{"tenant": "acme"},
		ClaimsToSuppress:      []string{"email"},
		GroupOverrideDetails:  GroupConfiguration{GroupsToOverride: []string{"users"}, PreferredRole: &role},
	}
	out := generic(t, v1)
	eq(t, "claimsToAddOrOverride", at(t, out, "response.claimsOverrideDetails.claimsToAddOrOverride.tenant"), any("acme"))
	eq(t, "claimsToSuppress", at(t, out, "response.claimsOverrideDetails.claimsToSuppress.0"), any("email"))
	eq(t, "groupsToOverride", at(t, out, "response.claimsOverrideDetails.groupOverrideDetails.groupsToOverride.0"), any("users"))
	eq(t, "preferredRole", at(t, out, "response.claimsOverrideDetails.groupOverrideDetails.preferredRole"), any(role))

	var v2 CognitoEventUserPoolsPreTokenGenV2_0
	cognitoDecode(t, "TokenGeneration_Authentication", `"request":{"userAttributes":{},"groupConfiguration":{},"scopes":["openid","aws.cognito.signin.user.admin"]},"response":{}`, &v2)
	eq(t, "scopes", v2.Request.Scopes, []string{"openid", "aws.cognito.signin.user.admin"})
	v2.Response.ClaimsAndScopeOverrideDetails = ClaimsAndScopeOverrideDetailsV2_0{
		IDTokenGeneration: IDTokenGenerationV2_0{ClaimsToAddOrOverride: map[string]interface{}{"level": 3, "tags": []string{"x"}}},
		AccessTokenGeneration: AccessTokenGenerationV2_0{
			ScopesToAdd: []string{"orders:read"}, ScopesToSuppress: []string{"phone"}, ClaimsToSuppress: []string{"username"},
		},
		GroupOverrideDetails: GroupConfigurationV2_0{IAMRolesToOverride: []string{"arn:r"}},
	}
	out = generic(t, v2)
	base := "response.claimsAndScopeOverrideDetails."
	eq(t, "id claim number", at(t, out, base+"idTokenGeneration.claimsToAddOrOverride.level"), any(3.0))
	eq(t, "id claim list", at(t, out, base+"idTokenGeneration.claimsToAddOrOverride.tags.0"), any("x"))
	eq(t, "scopesToAdd", at(t, out, base+"accessTokenGeneration.scopesToAdd.0"), any("orders:read"))
	eq(t, "scopesToSuppress", at(t, out, base+"accessTokenGeneration.scopesToSuppress.0"), any("phone"))
	eq(t, "access claimsToSuppress", at(t, out, base+"accessTokenGeneration.claimsToSuppress.0"), any("username"))
	eq(t, "iamRolesToOverride", at(t, out, base+"groupOverrideDetails.iamRolesToOverride.0"), any("arn:r"))

	var old CognitoEventUserPoolsPreTokenGenV2
	cognitoDecode(t, "TokenGeneration_Authentication", `"request":{"scopes":["openid"]},"response":{}`, &old)
	old.Response.ClaimsAndScopeOverrideDetails.AccessTokenGeneration = AccessTokenGeneration{
		ClaimsToAddOrOverride: map[string]string{"k": "v"}, ScopesToAdd: []string{"s1"}, ScopesToSuppress: []string{"s2"},
	}
	old.Response.ClaimsAndScopeOverrideDetails.IDTokenGeneration.ClaimsToSuppress = []string{"c"}
	out = generic(t, old)
	eq(t, "deprecated V2 claim", at(t, out, base+"accessTokenGeneration.claimsToAddOrOverride.k"), any("v"))
	eq(t, "deprecated V2 scopesToAdd", at(t, out, base+"accessTokenGeneration.scopesToAdd.0"), any("s1"))
	eq(t, "deprecated V2 scopesToSuppress", at(t, out, base+"accessTokenGeneration.scopesToSuppress.0"), any("s2"))
	eq(t, "deprecated V2 id claimsToSuppress", at(t, out, base+"idTokenGeneration.claimsToSuppress.0"), any("c"))
}

func TestCognitoCustomAuthFlow(t *testing.T) {
	var def CognitoEventUserPoolsDefineAuthChallenge
	cognitoDecode(t, "DefineAuthChallenge_Authentication", `"request":{"userAttributes":{"email":"a@b.c"},
		"session":[{"challengeName":"PASSWORD_VERIFIER","challengeResult":true,"challengeMetadata":""},
		           {"challengeName":"CUSTOM_CHALLENGE","challengeResult":false,"challengeMetadata":"CAPTCHA"}],
		"userNotFound":false},"response":{}`, &def)
	if len(def.Request.Session) != 2 || def.Request.Session[1] == nil {
		t.Fatalf("session = %+v", def.Request.Session)
	}
	eq(t, "session[0]", *def.Request.Session[0], CognitoEventUserPoolsChallengeResult{ChallengeName: "PASSWORD_VERIFIER", ChallengeResult: true})
	eq(t, "session[1].metadata", def.Request.Session[1].ChallengeMetadata, "CAPTCHA")
	def.Response = CognitoEventUserPoolsDefineAuthChallengeResponse{ChallengeName: "CUSTOM_CHALLENGE"}
	eq(t, "define response", generic(t, def)["response"], any(map[string]any{
		"challengeName": "CUSTOM_CHALLENGE", "issueTokens": false, "failAuthentication": false,
	}))

	var cr CognitoEventUserPoolsCreateAuthChallenge
	cognitoDecode(t, "CreateAuthChallenge_Authentication", `"request":{"challengeName":"CUSTOM_CHALLENGE","session":[]},"response":{}`, &cr)
	eq(t, "create challengeName", cr.Request.ChallengeName, "CUSTOM_CHALLENGE")
	cr.Response = CognitoEventUserPoolsCreateAuthChallengeResponse{
		PublicChallengeParameters:  map[string]string{"question": "2+2?"},
		PrivateChallengeParameters: map[string]string{"answer": "4"},
		ChallengeMetadata:          "MATH",
	}
	out := generic(t, cr)
	eq(t, "public", at(t, out, "response.publicChallengeParameters.question"), any("2+2?"))
	eq(t, "private", at(t, out, "response.privateChallengeParameters.answer"), any("4"))
	eq(t, "metadata", at(t, out, "response.challengeMetadata"), any("MATH"))

	var ver CognitoEventUserPoolsVerifyAuthChallenge
	cognitoDecode(t, "VerifyAuthChallengeResponse_Authentication", `"request":{"privateChallengeParameters":{"answer":"4"},"challengeAnswer":"4"},"response":{}`, &ver)
	eq(t, "challengeAnswer", ver.Request.ChallengeAnswer, any("4"))
	eq(t, "private answer", ver.Request.PrivateChallengeParameters["answer"], "4")
	ver.Response.AnswerCorrect = true
	eq(t, "verify response", generic(t, ver)["response"], any(map[string]any{"answerCorrect": true}))
}

func TestCognitoCustomMessage(t *testing.T) {
	var ev CognitoEventUserPoolsCustomMessage
	cognitoDecode(t, "CustomMessage_SignUp", `"request":{"userAttributes":{"email_verified":false,"phone_number":"+15550100"},
		"codeParameter":"{####}","usernameParameter":null,"clientMetadata":{}},"response":{"smsMessage":null,"emailMessage":null,"emailSubject":null}`, &ev)
	eq(t, "codeParameter", ev.Request.CodeParameter, "{####}")
	eq(t, "email_verified", ev.Request.UserAttributes["email_verified"], any(false))
	ev.Response = CognitoEventUserPoolsCustomMessageResponse{
		SMSMessage:   "Your code is " + ev.Request.CodeParameter,
		EmailMessage: "<p>Code: {####}</p>",
		EmailSubject: "Welcome",
	}
	eq(t, "custom message response", generic(t, ev)["response"], any(map[string]any{
		"smsMessage": "Your code is {####}", "emailMessage": "<p>Code: {####}</p>", "emailSubject": "Welcome",
	}))
}

func TestCognitoMigrateUser(t *testing.T) {
	var ev CognitoEventUserPoolsMigrateUser
	cognitoDecode(t, "UserMigration_Authentication", `"request":{"password":"s3cret","validationData":{"k":"v"}},
		"response":{"userAttributes":null,"finalUserStatus":null,"messageAction":null,"desiredDeliveryMediums":null,"forceAliasCreation":null}`, &ev)
	// Request and response fields are promoted from the embedded structs.
	eq(t, "Password", ev.Password, "s3cret")
	eq(t, "ValidationData", ev.ValidationData["k"], "v")
	ev.UserAttributes = map[string]string{"email": "alice@example.com", "email_verified": "true"}
	ev.FinalUserStatus = "CONFIRMED"
	ev.MessageAction = "SUPPRESS"
	ev.DesiredDeliveryMediums = []string{"EMAIL"}
	ev.ForceAliasCreation = true
	out := generic(t, ev)
	eq(t, "migrate response", out["response"], any(map[string]any{
		"userAttributes":         map[string]any{"email": "alice@example.com", "email_verified": "true"},
		"finalUserStatus":        "CONFIRMED",
		"messageAction":          "SUPPRESS",
		"desiredDeliveryMediums": []any{"EMAIL"},
		"forceAliasCreation":     true,
	}))
	eq(t, "migrate request password", at(t, out, "request.password"), any("s3cret"))
	if _, flat := out["finalUserStatus"]; flat {
		t.Error("response fields leaked to the top level")
	}
}

func TestCognitoInboundFederation(t *testing.T) {
	var ev CognitoEventUserPoolsInboundFederation
	cognitoDecode(t, "InboundFederation_ExternalProvider", `"request":{"providerName":"MyOIDC","providerType":"OIDC",
		"attributes":{"idToken":{"sub":"ext-1","email":"x@y.z"},"userInfo":{"name":"X"}}},"response":{"userAttributesToMap":{}}`, &ev)
	eq(t, "ProviderType", ev.Request.ProviderType, CognitoFederationProviderTypeOIDC)
	eq(t, "idToken.email", ev.Request.Attributes.IDToken["email"], "x@y.z")
	ev.Response.UserAttributesToMap = map[string]string{"email": "x@y.z"}
	eq(t, "federation response", at(t, generic(t, ev), "response.userAttributesToMap.email"), any("x@y.z"))
}
