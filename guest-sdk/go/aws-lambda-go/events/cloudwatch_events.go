package events

import (
	"encoding/json"
	"time"
)

// CloudWatchEvent is the envelope of an EventBridge (formerly CloudWatch
// Events) event, including scheduled-rule events. Detail is left as raw JSON
// for the handler to decode into the shape its source defines.
type CloudWatchEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	AccountID  string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// EventBridgeEvent is the same type as CloudWatchEvent, under the service's
// current name.
type EventBridgeEvent = CloudWatchEvent
