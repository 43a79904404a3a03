package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecondsEpochTime is a time.Time that travels in JSON as a number of seconds
// since the Unix epoch, possibly with a fractional part (Kinesis arrival
// timestamps, DynamoDB stream creation times).
type SecondsEpochTime struct {
	time.Time
}

// MilliSecondsEpochTime is a time.Time that travels in JSON as an integer
// number of milliseconds since the Unix epoch.
type MilliSecondsEpochTime struct {
	time.Time
}

// RFC3339EpochTime is a time.Time that travels in JSON as an RFC 3339 string
// (the tumbling-window bounds of stream events).
type RFC3339EpochTime struct {
	time.Time
}

const nanosPerSecond = int64(time.Second)

// MarshalJSON writes the time as decimal seconds, with only as many
// fractional digits as the sub-second part needs.
func (e SecondsEpochTime) MarshalJSON() ([]byte, error) {
	sec, nsec := e.Unix(), int64(e.Nanosecond())
	neg := false
	if sec < 0 {
		neg = true
		if nsec > 0 {
			sec++
			nsec = nanosPerSecond - nsec
		}
		sec = -sec
	}
	var sb strings.Builder
	if neg && (sec != 0 || nsec != 0) {
		sb.WriteByte('-')
	}
	sb.WriteString(strconv.FormatInt(sec, 10))
	if nsec != 0 {
		frac := fmt.Sprintf("%09d", nsec)
		sb.WriteByte('.')
		sb.WriteString(strings.TrimRight(frac, "0"))
	}
	return []byte(sb.String()), nil
}

// UnmarshalJSON reads a JSON number of seconds since the epoch. Decimal
// fractions are taken exactly, down to the nanosecond.
func (e *SecondsEpochTime) UnmarshalJSON(b []byte) error {
	num, err := decodeJSONNumber(b)
	if err != nil {
		return err
	}
	sec, nsec, err := parseDecimalSeconds(num)
	if err != nil {
		return fmt.Errorf("events: epoch seconds %q: %w", num, err)
	}
	e.Time = time.Unix(sec, nsec)
	return nil
}

// MarshalJSON writes the time as whole milliseconds since the epoch.
func (e MilliSecondsEpochTime) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(e.UnixMilli(), 10)), nil
}

// UnmarshalJSON reads a JSON number of milliseconds since the epoch.
func (e *MilliSecondsEpochTime) UnmarshalJSON(b []byte) error {
	num, err := decodeJSONNumber(b)
	if err != nil {
		return err
	}
	ms, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return fmt.Errorf("events: epoch milliseconds %q: %w", num, err)
	}
	e.Time = time.UnixMilli(ms)
	return nil
}

// MarshalJSON writes the time as an RFC 3339 string.
func (e RFC3339EpochTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(e.Format(time.RFC3339))
}

// UnmarshalJSON reads an RFC 3339 string.
func (e *RFC3339EpochTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	e.Time = t
	return nil
}

// decodeJSONNumber returns the literal text of a JSON number, refusing
// anything else (strings, null, objects).
func decodeJSONNumber(b []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	n, ok := v.(json.Number)
	if !ok {
		return "", fmt.Errorf("events: expected a JSON number for an epoch time, got %s", b)
	}
	return n.String(), nil
}

// parseDecimalSeconds splits a JSON number of seconds into whole seconds and
// nanoseconds. Plain decimals are split digit by digit; numbers written with
// an exponent go through float64.
func parseDecimalSeconds(s string) (int64, int64, error) {
	if strings.ContainsAny(s, "eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, 0, err
		}
		sec := int64(f)
		return sec, int64((f - float64(sec)) * float64(nanosPerSecond)), nil
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, 0, err
	}
	var nsec int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		frac += strings.Repeat("0", 9-len(frac))
		if nsec, err = strconv.ParseInt(frac, 10, 64); err != nil {
			return 0, 0, err
		}
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return sec, nsec, nil
}
