package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// DynamoDBAttributeValue is one attribute value of a DynamoDB item as a
// stream record carries it: a JSON object with a single type key ("S", "N",
// "B", "BOOL", "NULL", "SS", "NS", "BS", "L" or "M"). Read it with the
// accessor of its DataType; an accessor of another type panics with an
// IncompatibleDynamoDBTypeError (String excepted, which formats the value).
type DynamoDBAttributeValue struct {
	val  interface{}
	kind DynamoDBDataType
}

// DynamoDBDataType is the DynamoDB type of an attribute value.
type DynamoDBDataType int

// The DynamoDB attribute types.
const (
	DataTypeBinary DynamoDBDataType = iota
	DataTypeBoolean
	DataTypeBinarySet
	DataTypeList
	DataTypeMap
	DataTypeNumber
	DataTypeNumberSet
	DataTypeNull
	DataTypeString
	DataTypeStringSet
)

// typeKeys maps each data type to its key in DynamoDB's JSON.
var typeKeys = map[DynamoDBDataType]string{
	DataTypeBinary:    "B",
	DataTypeBoolean:   "BOOL",
	DataTypeBinarySet: "BS",
	DataTypeList:      "L",
	DataTypeMap:       "M",
	DataTypeNumber:    "N",
	DataTypeNumberSet: "NS",
	DataTypeNull:      "NULL",
	DataTypeString:    "S",
	DataTypeStringSet: "SS",
}

// UnsupportedDynamoDBTypeError is returned when decoding an attribute value
// whose type key is none of DynamoDB's.
type UnsupportedDynamoDBTypeError struct {
	Type string
}

func (e UnsupportedDynamoDBTypeError) Error() string {
	return fmt.Sprintf("events: %q is not a DynamoDB attribute type", e.Type)
}

// IncompatibleDynamoDBTypeError is the panic value of an accessor called on
// an attribute value of another type.
type IncompatibleDynamoDBTypeError struct {
	Requested DynamoDBDataType
	Actual    DynamoDBDataType
}

func (e IncompatibleDynamoDBTypeError) Error() string {
	return fmt.Sprintf("events: DynamoDB attribute accessor for type %v used on a value of type %v", e.Requested, e.Actual)
}

func (av DynamoDBAttributeValue) must(t DynamoDBDataType) {
	if av.kind != t {
		panic(IncompatibleDynamoDBTypeError{Requested: t, Actual: av.kind})
	}
}

// DataType returns the attribute's DynamoDB type.
func (av DynamoDBAttributeValue) DataType() DynamoDBDataType {
	return av.kind
}

// IsNull reports whether the attribute holds no value (type NULL, or the zero
// DynamoDBAttributeValue).
func (av DynamoDBAttributeValue) IsNull() bool {
	return av.val == nil
}

// Binary returns the bytes of a B attribute.
func (av DynamoDBAttributeValue) Binary() []byte {
	av.must(DataTypeBinary)
	b, _ := av.val.([]byte)
	return b
}

// Boolean returns the value of a BOOL attribute.
func (av DynamoDBAttributeValue) Boolean() bool {
	av.must(DataTypeBoolean)
	b, _ := av.val.(bool)
	return b
}

// BinarySet returns the members of a BS attribute.
func (av DynamoDBAttributeValue) BinarySet() [][]byte {
	av.must(DataTypeBinarySet)
	s, _ := av.val.([][]byte)
	return s
}

// List returns the elements of an L attribute.
func (av DynamoDBAttributeValue) List() []DynamoDBAttributeValue {
	av.must(DataTypeList)
	l, _ := av.val.([]DynamoDBAttributeValue)
	return l
}

// Map returns the entries of an M attribute.
func (av DynamoDBAttributeValue) Map() map[string]DynamoDBAttributeValue {
	av.must(DataTypeMap)
	m, _ := av.val.(map[string]DynamoDBAttributeValue)
	return m
}

// Number returns an N attribute as DynamoDB sends it: decimal text.
func (av DynamoDBAttributeValue) Number() string {
	av.must(DataTypeNumber)
	s, _ := av.val.(string)
	return s
}

// Int64 parses an N attribute as a base-10 int64.
func (av DynamoDBAttributeValue) Int64() (int64, error) {
	return strconv.ParseInt(av.Number(), 10, 64)
}

// Integer returns an N attribute as an int64. A number that is not an
// integer literal is parsed as a float64 and truncated toward zero; the error
// is that of the float parse (strconv.ErrRange when out of range).
func (av DynamoDBAttributeValue) Integer() (int64, error) {
	n := av.Number()
	if i, err := strconv.ParseInt(n, 10, 64); err == nil {
		return i, nil
	}
	f, err := strconv.ParseFloat(n, 64)
	return int64(f), err
}

// Float parses an N attribute as a float64.
func (av DynamoDBAttributeValue) Float() (float64, error) {
	return strconv.ParseFloat(av.Number(), 64)
}

// NumberSet returns the members of an NS attribute, as decimal text.
func (av DynamoDBAttributeValue) NumberSet() []string {
	av.must(DataTypeNumberSet)
	s, _ := av.val.([]string)
	return s
}

// String returns the value of an S attribute. On any other type it does not
// panic but returns a printable form of the value, so that fmt can print
// attribute values of every type.
func (av DynamoDBAttributeValue) String() string {
	if av.kind == DataTypeString {
		s, _ := av.val.(string)
		return s
	}
	type fields DynamoDBAttributeValue // no String method, so fmt prints the fields
	return fmt.Sprintf("%v", fields(av))
}

// StringSet returns the members of an SS attribute.
func (av DynamoDBAttributeValue) StringSet() []string {
	av.must(DataTypeStringSet)
	s, _ := av.val.([]string)
	return s
}

// NewBinaryAttribute makes a B attribute.
func NewBinaryAttribute(value []byte) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeBinary}
}

// NewBooleanAttribute makes a BOOL attribute.
func NewBooleanAttribute(value bool) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeBoolean}
}

// NewBinarySetAttribute makes a BS attribute.
func NewBinarySetAttribute(value [][]byte) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeBinarySet}
}

// NewListAttribute makes an L attribute.
func NewListAttribute(value []DynamoDBAttributeValue) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeList}
}

// NewMapAttribute makes an M attribute.
func NewMapAttribute(value map[string]DynamoDBAttributeValue) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeMap}
}

// NewNumberAttribute makes an N attribute from decimal text.
func NewNumberAttribute(value string) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeNumber}
}

// NewNumberSetAttribute makes an NS attribute from decimal texts.
func NewNumberSetAttribute(value []string) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeNumberSet}
}

// NewNullAttribute makes a NULL attribute.
func NewNullAttribute() DynamoDBAttributeValue {
	return DynamoDBAttributeValue{kind: DataTypeNull}
}

// NewStringAttribute makes an S attribute.
func NewStringAttribute(value string) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeString}
}

// NewStringSetAttribute makes an SS attribute.
func NewStringSetAttribute(value []string) DynamoDBAttributeValue {
	return DynamoDBAttributeValue{val: value, kind: DataTypeStringSet}
}

// MarshalJSON writes the attribute in DynamoDB's JSON form, e.g. {"S":"x"}
// or {"NULL":true}. Binary values are base64.
func (av DynamoDBAttributeValue) MarshalJSON() ([]byte, error) {
	key, ok := typeKeys[av.kind]
	if !ok {
		return nil, fmt.Errorf("events: DynamoDB attribute of unknown type %d", int(av.kind))
	}
	var payload interface{} = av.val
	if av.kind == DataTypeNull {
		payload = true
	}
	inner, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString(`{"`)
	buf.WriteString(key)
	buf.WriteString(`":`)
	buf.Write(inner)
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON reads an attribute in DynamoDB's JSON form. The object must
// have exactly one key; an unknown key gives UnsupportedDynamoDBTypeError
// (and leaves a NULL value).
func (av *DynamoDBAttributeValue) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("events: a DynamoDB attribute value must be a JSON object")
	}
	if len(m) != 1 {
		return fmt.Errorf("events: a DynamoDB attribute value must have exactly one type key, got %d", len(m))
	}
	for key, raw := range m {
		v, kind, err := decodeAttribute(key, raw)
		if err != nil {
			if _, ok := err.(UnsupportedDynamoDBTypeError); ok {
				*av = DynamoDBAttributeValue{kind: DataTypeNull}
				return err
			}
			return fmt.Errorf("events: DynamoDB %q attribute: %w", key, err)
		}
		*av = DynamoDBAttributeValue{val: v, kind: kind}
	}
	return nil
}

// decodeAttribute decodes the payload of one type key.
func decodeAttribute(key string, raw json.RawMessage) (interface{}, DynamoDBDataType, error) {
	switch key {
	case "NULL":
		return nil, DataTypeNull, nil
	case "S":
		s, err := strictString(raw)
		return s, DataTypeString, err
	case "N":
		s, err := strictString(raw)
		return s, DataTypeNumber, err
	case "B":
		b, err := strictBinary(raw)
		return b, DataTypeBinary, err
	case "BOOL":
		var v interface{}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, DataTypeBoolean, err
		}
		b, ok := v.(bool)
		if !ok {
			return nil, DataTypeBoolean, fmt.Errorf("want true or false, got %s", raw)
		}
		return b, DataTypeBoolean, nil
	case "SS", "NS":
		items, err := strictArray(raw)
		if err != nil {
			return nil, DataTypeNull, err
		}
		out := make([]string, len(items))
		for i, item := range items {
			if out[i], err = strictString(item); err != nil {
				return nil, DataTypeNull, fmt.Errorf("member %d: %w", i, err)
			}
		}
		if key == "SS" {
			return out, DataTypeStringSet, nil
		}
		return out, DataTypeNumberSet, nil
	case "BS":
		items, err := strictArray(raw)
		if err != nil {
			return nil, DataTypeNull, err
		}
		out := make([][]byte, len(items))
		for i, item := range items {
			if out[i], err = strictBinary(item); err != nil {
				return nil, DataTypeNull, fmt.Errorf("member %d: %w", i, err)
			}
		}
		return out, DataTypeBinarySet, nil
	case "L":
		items, err := strictArray(raw)
		if err != nil {
			return nil, DataTypeNull, err
		}
		out := make([]DynamoDBAttributeValue, len(items))
		for i, item := range items {
			if err := out[i].UnmarshalJSON(item); err != nil {
				return nil, DataTypeNull, fmt.Errorf("element %d: %w", i, err)
			}
		}
		return out, DataTypeList, nil
	case "M":
		var entries map[string]json.RawMessage
		if err := json.Unmarshal(raw, &entries); err != nil {
			return nil, DataTypeNull, err
		}
		if entries == nil {
			return nil, DataTypeNull, errors.New("want an object, got null")
		}
		out := make(map[string]DynamoDBAttributeValue, len(entries))
		for k, item := range entries {
			var child DynamoDBAttributeValue
			if err := child.UnmarshalJSON(item); err != nil {
				return nil, DataTypeNull, fmt.Errorf("entry %q: %w", k, err)
			}
			out[k] = child
		}
		return out, DataTypeMap, nil
	}
	return nil, DataTypeNull, UnsupportedDynamoDBTypeError{Type: key}
}

// strictString decodes a JSON string, refusing null and other kinds.
func strictString(raw json.RawMessage) (string, error) {
	var v interface{}
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("want a string, got %s", raw)
	}
	return s, nil
}

// strictBinary decodes a JSON string of standard base64.
func strictBinary(raw json.RawMessage) ([]byte, error) {
	s, err := strictString(raw)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}

// strictArray decodes a JSON array into its raw elements, refusing null.
func strictArray(raw json.RawMessage) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, err
	}
	if items == nil {
		return nil, errors.New("want an array, got null")
	}
	return items, nil
}
