package events

import (
	"encoding/json"
	"errors"
	"io"
)

// httpIntegrationContentType is the media type of a streamed HTTP response:
// a JSON prelude, eight NUL bytes, then the raw body.
const httpIntegrationContentType = "application/vnd.awslambda.http-integration-response"

var errNotJSON = errors.New("events: a streaming response is a byte stream, not JSON")

// httpStream is the read state of a streamed HTTP response.
type httpStream struct {
	head []byte // prelude plus separator, built on the first Read
	sent int    // bytes of head already returned
}

// read returns the prelude (built from the value prelude returns), then the
// separator, then body.
func (s *httpStream) read(p []byte, body io.Reader, prelude func() any) (int, error) {
	if s.head == nil {
		b, err := json.Marshal(prelude())
		if err != nil {
			return 0, err
		}
		s.head = append(b, make([]byte, 8)...)
	}
	if s.sent < len(s.head) {
		n := copy(p, s.head[s.sent:])
		s.sent += n
		return n, nil
	}
	if body == nil {
		return 0, io.EOF
	}
	return body.Read(p)
}

func closeBody(body io.Reader) error {
	if c, ok := body.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
