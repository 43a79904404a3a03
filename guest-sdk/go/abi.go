package lambda

// The glue between Go and the `handler` world of guest-sdk/wit/handler.wit,
// written by hand against the canonical ABI (the offsets are that ABI's
// layout of the WIT types on wasm32). `wasm-lambda build` checks the
// module's exports against the WIT when it makes the component, so a changed
// export or signature fails the build. The field offsets it reads are not
// checked there: the host's test
// `core_module::tests::the_glue_layout_matches_the_wit` derives them from the
// WIT and compares them with GLUE_LAYOUT, a table of these offsets kept by hand.

import (
	"context"
	"time"
	"unsafe"
)

//go:wasmimport wasm-lambda:handler/runtime@0.2.0 remaining-time-ms
func remainingTimeMs() uint64

// cabi_realloc never uses Go's allocator. The canonical ABI forbids calling
// imports while the host is handing arguments over, and Go's allocator may
// call WASI (a clock read when a large allocation starts a GC), which traps.
// Early on it could not be used at all: the WASI adapter allocates its state
// through cabi_realloc while the runtime is still starting (inside
// _initialize). So memory comes from the runtime's sbrk: before package
// initialisation as permanent blocks (the adapter's state), after it from
// arenas that are reused once handle has copied the arguments out.
//
//go:linkname sbrk runtime.sbrk
func sbrk(n uintptr) unsafe.Pointer

//go:linkname mainMain main.main
func mainMain()

var (
	initialized bool
	mainDone    bool
)

func init() { initialized = true }

// An arena: a block from sbrk, bump-allocated and reset after each call.
type arena struct {
	base unsafe.Pointer
	size uintptr
	used uintptr
}

// Fixed-size, so cabi_realloc itself allocates nothing.
var (
	arenas      [32]arena
	arenaCount  int
	minArenaLen uintptr = 64 << 10
)

func arenaAlloc(size, align uintptr) unsafe.Pointer {
	for i := 0; i < arenaCount; i++ {
		a := &arenas[i]
		start := (uintptr(a.base) + a.used + align - 1) &^ (align - 1)
		if start+size <= uintptr(a.base)+a.size {
			a.used = start + size - uintptr(a.base)
			return unsafe.Pointer(start)
		}
	}
	length := max(minArenaLen, 2*(size+align))
	base := sbrk(length)
	if base == nil {
		panic("wasm-lambda: out of memory for the invocation's arguments")
	}
	if arenaCount < len(arenas) {
		arenas[arenaCount] = arena{base: base, size: length}
		arenaCount++
		return arenaAlloc(size, align)
	}
	// Every arena slot is taken: hand out the block unmanaged (never reused).
	return unsafe.Pointer((uintptr(base) + align - 1) &^ (align - 1))
}

// releaseArguments makes the arenas reusable: handle has copied everything
// the host passed in.
func releaseArguments() {
	for i := 0; i < arenaCount; i++ {
		arenas[i].used = 0
	}
}

//go:wasmexport cabi_realloc
func cabiRealloc(old unsafe.Pointer, oldSize, align, newSize uint32) unsafe.Pointer {
	if newSize == 0 {
		return unsafe.Pointer(uintptr(align))
	}
	var fresh unsafe.Pointer
	if initialized {
		fresh = arenaAlloc(uintptr(newSize), uintptr(max(align, 1)))
	} else {
		fresh = sbrk(uintptr(newSize))
	}
	if old != nil {
		n := min(oldSize, newSize)
		copy(unsafe.Slice((*byte)(fresh), n), unsafe.Slice((*byte)(old), n))
	}
	return fresh
}

func stringAt(at unsafe.Pointer) string {
	ptr := *(*uint32)(at)
	length := *(*uint32)(unsafe.Add(at, 4))
	if length == 0 {
		return ""
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), length))
}

func optionalStringAt(at unsafe.Pointer) string {
	if *(*uint8)(at) == 0 {
		return ""
	}
	return stringAt(unsafe.Add(at, 4))
}

// result is the result<string, handler-error> handed back: tag at 0, payload at 4.
var (
	result   [7]uint32
	returned [][]byte
)

func putString(slot int, text []byte) {
	returned = append(returned, text)
	if len(text) > 0 {
		result[slot] = uint32(uintptr(unsafe.Pointer(&text[0])))
	} else {
		result[slot] = 0
	}
	result[slot+1] = uint32(len(text))
}

// handle(event: string, context: context) -> result<string, handler-error>.
// Its 30 flattened parameters exceed the ABI's 16, so they arrive in one
// buffer: the event at 0, the context record (8-aligned) at 8.
//
//go:wasmexport handle
func handle(args unsafe.Pointer) unsafe.Pointer {
	event := []byte(stringAt(args))
	c := unsafe.Add(args, 8)
	lc := &Context{
		AwsRequestID:       stringAt(c),
		FunctionName:       stringAt(unsafe.Add(c, 8)),
		FunctionVersion:    stringAt(unsafe.Add(c, 16)),
		InvokedFunctionArn: stringAt(unsafe.Add(c, 24)),
		MemoryLimitInMB:    int(*(*uint32)(unsafe.Add(c, 32))),
		LogGroupName:       stringAt(unsafe.Add(c, 36)),
		LogStreamName:      stringAt(unsafe.Add(c, 44)),
		Deadline:           time.UnixMilli(int64(*(*uint64)(unsafe.Add(c, 56)))),
		XRayTraceID:        optionalStringAt(unsafe.Add(c, 64)),
		ClientContext:      optionalStringAt(unsafe.Add(c, 96)),
		TenantID:           optionalStringAt(unsafe.Add(c, 108)),
	}
	lc.TraceID = lc.XRayTraceID
	if *(*uint8)(unsafe.Add(c, 76)) != 0 {
		lc.Identity = &CognitoIdentity{
			CognitoIdentityID:     stringAt(unsafe.Add(c, 80)),
			CognitoIdentityPoolID: stringAt(unsafe.Add(c, 88)),
		}
	}
	// Everything is copied: the host's buffers can be reused.
	releaseArguments()

	// main registers the handler (lambda.Start), once per instance, like
	// Lambda's init phase.
	if !mainDone {
		mainDone = true
		mainMain()
	}
	ctx, cancel := context.WithDeadline(NewContext(context.Background(), lc), lc.Deadline)
	defer cancel()
	payload, failure := invoke(ctx, event)

	returned = nil
	if failure == nil {
		result[0] = 0
		putString(1, payload)
		return unsafe.Pointer(&result)
	}
	result[0] = 1
	putString(1, []byte(failure.Type))
	putString(3, []byte(failure.Message))
	// The stack trace: a list<string>, 8 bytes (pointer, length) per line.
	lines := make([]uint32, 2*len(failure.Stack))
	for i, line := range failure.Stack {
		text := []byte(line)
		returned = append(returned, text)
		if len(text) > 0 {
			lines[2*i] = uint32(uintptr(unsafe.Pointer(&text[0])))
		}
		lines[2*i+1] = uint32(len(text))
	}
	if len(lines) > 0 {
		pinnedLines = lines
		result[5] = uint32(uintptr(unsafe.Pointer(&lines[0])))
	} else {
		result[5] = 0
	}
	result[6] = uint32(len(failure.Stack))
	return unsafe.Pointer(&result)
}

var pinnedLines []uint32

// The host has copied the result: let the garbage collector have it.
//
//go:wasmexport cabi_post_handle
func cabiPostHandle(unsafe.Pointer) {
	returned = nil
	pinnedLines = nil
}
