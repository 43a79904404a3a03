package lambda

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Handler is a handler that takes the event's bytes and returns the
// response's.
type Handler interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Option changes how a handler decodes events, encodes responses, or what
// its context carries.
type Option func(*settings)

type settings struct {
	base             context.Context
	values           []contextValue
	useNumber        bool
	disallowUnknown  bool
	escapeHTML       bool
	indentPrefix     string
	indent           string
	sigtermCallbacks []func()
}

type contextValue struct{ key, value interface{} }

// WithContext makes ctx the parent of every invocation's context.
func WithContext(ctx context.Context) Option {
	return func(s *settings) { s.base = ctx }
}

// WithContextValue adds a value to every invocation's context.
func WithContextValue(key interface{}, value interface{}) Option {
	return func(s *settings) { s.values = append(s.values, contextValue{key, value}) }
}

// WithSetEscapeHTML sets whether the response's JSON escapes <, > and &
// (off by default, as in Lambda's Go runtime).
func WithSetEscapeHTML(escapeHTML bool) Option {
	return func(s *settings) { s.escapeHTML = escapeHTML }
}

// WithSetIndent indents the response's JSON (and keeps its final newline).
func WithSetIndent(prefix, indent string) Option {
	return func(s *settings) { s.indentPrefix, s.indent = prefix, indent }
}

// WithUseNumber decodes the event's numbers into interface{} values as
// json.Number.
func WithUseNumber(useNumber bool) Option {
	return func(s *settings) { s.useNumber = useNumber }
}

// WithDisallowUnknownFields fails an event with fields its type lacks.
func WithDisallowUnknownFields(disallowUnknownFields bool) Option {
	return func(s *settings) { s.disallowUnknown = disallowUnknownFields }
}

// WithEnableSIGTERM registers callbacks for the SIGTERM Lambda sends a
// runtime before its sandbox shuts down. A wasm-lambda sandbox ends with its
// invocation and receives no signals, so they are kept but never called.
func WithEnableSIGTERM(callbacks ...func()) Option {
	return func(s *settings) { s.sigtermCallbacks = append(s.sigtermCallbacks, callbacks...) }
}

// NewHandler makes a Handler of a handler function.
func NewHandler(handlerFunc interface{}) Handler {
	return NewHandlerWithOptions(handlerFunc)
}

// NewHandlerWithOptions makes a Handler of a handler function, with options.
func NewHandlerWithOptions(handlerFunc interface{}, options ...Option) Handler {
	return newHandler(handlerFunc, options...)
}

// handler is a handler function and its settings.
type handler struct {
	settings *settings
	call     func(ctx context.Context, payload []byte) ([]byte, error)
}

func (h *handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h.call(ctx, payload)
}

func newHandler(handlerFunc interface{}, options ...Option) *handler {
	if made, ok := handlerFunc.(*handler); ok {
		return made
	}
	s := &settings{base: context.Background()}
	for _, option := range options {
		option(s)
	}
	for _, value := range s.values {
		s.base = context.WithValue(s.base, value.key, value.value)
	}
	return &handler{settings: s, call: callerOf(handlerFunc, s)}
}

// failing answers every invocation with err, as a handler of a shape Lambda's
// Go runtime does not accept does.
func failing(err error) func(context.Context, []byte) ([]byte, error) {
	return func(context.Context, []byte) ([]byte, error) { return nil, err }
}

var (
	contextType = reflect.TypeOf((*context.Context)(nil)).Elem()
	errorType   = reflect.TypeOf((*error)(nil)).Elem()
)

// takesContext says whether a handler function's first argument is its
// context, or why its arguments are not accepted.
func takesContext(t reflect.Type) (bool, error) {
	isContext := func(argument reflect.Type) bool {
		return argument.Kind() == reflect.Interface &&
			contextType.Implements(argument) && argument.Implements(contextType)
	}
	switch t.NumIn() {
	case 0:
		return false, nil
	case 1:
		argument := t.In(0)
		// A struct, map or empty interface is the event.
		if argument.Kind() != reflect.Interface || argument.NumMethod() == 0 {
			return false, nil
		}
		if !isContext(argument) {
			return false, fmt.Errorf("handler takes an interface, but it is not context.Context: %q", argument.Name())
		}
		return true, nil
	case 2:
		if !isContext(t.In(0)) {
			return false, fmt.Errorf("handler takes two arguments, but the first is not Context. got %s", t.In(0).Kind())
		}
		return true, nil
	}
	return false, fmt.Errorf("handlers may not take more than two arguments, but handler takes %d", t.NumIn())
}

// checkResults says why a handler function's results are not accepted.
func checkResults(t reflect.Type) error {
	switch t.NumOut() {
	case 0:
		return nil
	case 1:
		if !t.Out(0).Implements(errorType) {
			return errors.New("handler returns a single value, but it does not implement error")
		}
	case 2:
		if !t.Out(1).Implements(errorType) {
			return errors.New("handler returns two values, but the second does not implement error")
		}
	default:
		return errors.New("handler may not return more than two values")
	}
	return nil
}

// callerOf turns a handler function into one called with the event's bytes.
func callerOf(handlerFunc interface{}, s *settings) func(context.Context, []byte) ([]byte, error) {
	if handlerFunc == nil {
		return failing(errors.New("handler is nil"))
	}
	if raw, ok := handlerFunc.(Handler); ok {
		return raw.Invoke
	}
	fn := reflect.ValueOf(handlerFunc)
	t := fn.Type()
	if t.Kind() != reflect.Func {
		return failing(fmt.Errorf("handler kind %s is not %s", t.Kind(), reflect.Func))
	}
	withContext, err := takesContext(t)
	if err != nil {
		return failing(err)
	}
	if err := checkResults(t); err != nil {
		return failing(err)
	}
	takesEvent := t.NumIn() == 2 || (t.NumIn() == 1 && !withContext)

	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var args []reflect.Value
		if withContext {
			args = append(args, reflect.ValueOf(ctx))
		}
		if takesEvent {
			event := reflect.New(t.In(t.NumIn() - 1))
			decoder := json.NewDecoder(bytes.NewReader(payload))
			if s.useNumber {
				decoder.UseNumber()
			}
			if s.disallowUnknown {
				decoder.DisallowUnknownFields()
			}
			if err := decoder.Decode(event.Interface()); err != nil {
				return nil, err
			}
			args = append(args, event.Elem())
		}
		results := fn.Call(args)
		if n := len(results); n > 0 {
			if err, _ := results[n-1].Interface().(error); err != nil {
				return nil, err
			}
		}
		var value interface{}
		if len(results) == 2 {
			value = results[0].Interface()
		}
		return encode(value, s)
	}
}

// encode writes a handler's result as Lambda's Go runtime does: JSON without
// HTML escaping or a final newline unless the options say otherwise; a
// result that is an io.Reader and encodes as no JSON of its own ("{}" or an
// error) is sent as the bytes it reads.
func encode(value interface{}, s *settings) ([]byte, error) {
	var out bytes.Buffer
	encoder := json.NewEncoder(&out)
	encoder.SetEscapeHTML(s.escapeHTML)
	encoder.SetIndent(s.indentPrefix, s.indent)
	reader, isReader := value.(io.Reader)
	if err := encoder.Encode(value); err != nil {
		if isReader {
			return io.ReadAll(reader)
		}
		return nil, err
	}
	if isReader && strings.HasPrefix(out.String(), "{}") {
		return io.ReadAll(reader)
	}
	if s.indentPrefix == "" && s.indent == "" {
		out.Truncate(out.Len() - 1)
	}
	return out.Bytes(), nil
}
