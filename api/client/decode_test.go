package client

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// errorBodies are the table for decodeError and the seeds of its fuzz test.
var errorBodies = []struct {
	status        int
	body          string
	code, message string
}{
	{status: 409, body: `{"error":{"code":"conflict","message":"drain it first"}}`,
		code: "conflict", message: "drain it first"},
	{status: 404, body: `{"error":{"code":"not_found","message":""}}`, code: "not_found"},
	{status: 502, body: "  bad gateway from the proxy\n", code: "Bad Gateway",
		message: "bad gateway from the proxy"},
	{status: 500, body: `{"error":{"message":"no code"}}`, code: "Internal Server Error",
		message: `{"error":{"message":"no code"}}`},
	{status: 503, body: "", code: "Service Unavailable"},
}

// answer is a response with status and body, as the transport gives it.
func answer(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))}
}

func TestDecodeError(t *testing.T) {
	for _, tc := range errorBodies {
		t.Run(tc.body, func(t *testing.T) {
			var ce *Error
			err := decodeError(answer(tc.status, tc.body))
			if !errors.As(err, &ce) || ce.Status != tc.status || ce.Code != tc.code ||
				ce.Message != tc.message {
				t.Errorf("decodeError(%d, %q) = %#v, want %d %q %q",
					tc.status, tc.body, err, tc.status, tc.code, tc.message)
			}
		})
	}
}

func FuzzDecodeError(f *testing.F) {
	for _, tc := range errorBodies {
		f.Add(tc.status, []byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		var ce *Error
		err := decodeError(answer(status, string(body)))
		if !errors.As(err, &ce) || ce.Status != status {
			t.Fatalf("decodeError(%d, %q) = %v: want a *Error with the status",
				status, body, err)
		}
		if len(ce.Message) > 64<<10 {
			t.Fatalf("message of %d bytes: want the body cut at 64 KiB", len(ce.Message))
		}
	})
}
