package events

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
)

// CloudwatchLogsEvent is what a CloudWatch Logs subscription filter sends: a
// compressed batch of log events.
type CloudwatchLogsEvent struct {
	AWSLogs CloudwatchLogsRawData `json:"awslogs"`
}

// CloudwatchLogsRawData holds the batch as base64 text of gzip-compressed
// JSON; Parse opens it.
type CloudwatchLogsRawData struct {
	Data string `json:"data"`
}

// Parse decodes the base64, decompresses the gzip stream and decodes the JSON
// inside into a CloudwatchLogsData. Errors are those of the decoders, as
// they are, so a handler that returns one fails with Lambda's errorType.
func (c CloudwatchLogsRawData) Parse() (d CloudwatchLogsData, err error) {
	compressed, err := base64.StdEncoding.DecodeString(c.Data)
	if err != nil {
		return d, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return d, err
	}
	defer zr.Close()
	err = json.NewDecoder(zr).Decode(&d)
	return d, err
}

// CloudwatchLogsData is the opened batch: which log group and stream, which
// subscription filters matched, and the log events. MessageType is
// "DATA_MESSAGE", or "CONTROL_MESSAGE" for the reachability check.
type CloudwatchLogsData struct {
	Owner               string                   `json:"owner"`
	LogGroup            string                   `json:"logGroup"`
	LogStream           string                   `json:"logStream"`
	SubscriptionFilters []string                 `json:"subscriptionFilters"`
	MessageType         string                   `json:"messageType"`
	LogEvents           []CloudwatchLogsLogEvent `json:"logEvents"`
}

// CloudwatchLogsLogEvent is one log line with its id and time (epoch
// milliseconds).
type CloudwatchLogsLogEvent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}
