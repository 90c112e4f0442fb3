package awsjson_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/awsjson"
)

type echoInput struct{ Say string }

type echoOutput struct{ Said string }

// queueService is query-compatible and qualifies the protocol's error names, as SQS does.
var queueService = awsjson.Service{
	Responder:           awsjson.Responder{ContentType: "application/x-amz-json-1.0", InternalError: `{"__type":"InternalError"}`},
	Name:                "testsim",
	TargetPrefix:        "Test.",
	ProtocolErrorPrefix: "com.amazon.coral.service#",
	MaxRequestBytes:     64,
}

func echo(in echoInput) (echoOutput, *awsjson.Error) {
	if in.Say == "" {
		return echoOutput{}, &awsjson.Error{Type: "test#Silence", QueryCode: "Silence", Status: http.StatusBadRequest, Message: "say something"}
	}
	if in.Say == "boom" {
		return echoOutput{}, awsjson.Errorf("test#Boom", http.StatusServiceUnavailable, "it went %s", in.Say)
	}
	return echoOutput{Said: in.Say}, nil
}

func operation(name string) awsjson.Operation {
	if name == "Echo" {
		return awsjson.Call(echo)
	}
	return nil
}

func TestServeAnswersInTheAWSJSONShape(t *testing.T) {
	tests := []struct {
		name, method, target, body string
		wantStatus                 int
		wantBody, wantQueryError   string // wantBody may end early where encoding/json words the message
	}{
		{"a served operation", http.MethodPost, "Test.Echo", `{"Say":"hi"}`, 200, `{"Said":"hi"}`, ""},
		{"an operation's refusal with its query code", http.MethodPost, "Test.Echo", `{}`, 400,
			`{"__type":"test#Silence","message":"say something"}`, "Silence;Sender"},
		{"a server fault without a query code", http.MethodPost, "Test.Echo", `{"Say":"boom"}`, 503,
			`{"__type":"test#Boom","message":"it went boom"}`, ""},
		{"an operation it does not serve", http.MethodPost, "Test.Shout", `{}`, 400,
			`{"__type":"com.amazon.coral.service#UnknownOperationException","message":"Operation \"Test.Shout\" is not supported by testsim."}`, ""},
		{"another service's target", http.MethodPost, "Other.Echo", `{}`, 400,
			`{"__type":"com.amazon.coral.service#UnknownOperationException","message":"Operation \"Other.Echo\" is not supported by testsim."}`, ""},
		{"a GET", http.MethodGet, "Test.Echo", ``, 400,
			`{"__type":"com.amazon.coral.service#UnknownOperationException","message":"Operation \"Test.Echo\" is not supported by testsim."}`, ""},
		{"a body that does not fit the input", http.MethodPost, "Test.Echo", `{"Say":7}`, 400,
			`{"__type":"com.amazon.coral.service#SerializationException","message":"json: `, ""},
		{"a body over the limit", http.MethodPost, "Test.Echo", `{"Say":"` + strings.Repeat("a", 64) + `"}`, 400,
			`{"__type":"com.amazon.coral.service#SerializationException","message":"request body is over 64 bytes"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body))
			r.Header.Set("X-Amz-Target", tc.target)
			w := httptest.NewRecorder()
			queueService.Serve(w, r, "req-1", operation)

			if w.Code != tc.wantStatus || !strings.HasPrefix(w.Body.String(), tc.wantBody) {
				t.Errorf("answered %d %s, want %d %s", w.Code, w.Body, tc.wantStatus, tc.wantBody)
			}
			if got := w.Header().Get("x-amzn-query-error"); got != tc.wantQueryError {
				t.Errorf("x-amzn-query-error is %q, want %q", got, tc.wantQueryError)
			}
			if w.Header().Get("Content-Type") != "application/x-amz-json-1.0" || w.Header().Get("x-amzn-RequestId") != "req-1" {
				t.Errorf("headers are %v, want the service's content type and the request id", w.Header())
			}
		})
	}
}

func TestResponderSendsTheInternalErrorForABodyThatDoesNotMarshal(t *testing.T) {
	w := httptest.NewRecorder()
	awsjson.Responder{ContentType: "application/json", InternalError: `{"message":"internal error"}`}.
		Write(w, http.StatusOK, map[string]any{"bad": func() {}}, "req-2")
	if w.Code != http.StatusInternalServerError || w.Body.String() != `{"message":"internal error"}` {
		t.Errorf("answered %d %s, want 500 with the internal error body", w.Code, w.Body)
	}
}
