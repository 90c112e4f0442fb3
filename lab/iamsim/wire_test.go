package iamsim_test

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/nodewright/nodewright/lab/iamsim"
)

// post sends one form-encoded Query request straight to the sim's handler.
func post(t *testing.T, sim *iamsim.Sim, method string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "/", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	sim.ServeHTTP(w, r)
	return w
}

func action(name string, kv ...string) url.Values {
	v := url.Values{"Action": {name}, "Version": {"2010-05-08"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestErrorsUseIAMsEnvelopeAndStatusCodes(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		form       url.Values
		wantStatus int
		wantCode   string
	}{
		{"an action it does not simulate", http.MethodPost, action("ListUsers"), 400, iamsim.CodeInvalidAction},
		{"no action", http.MethodPost, url.Values{"Version": {"2010-05-08"}}, 400, iamsim.CodeInvalidAction},
		{"another API version", http.MethodPost, url.Values{"Action": {"GetRole"}, "Version": {"2011-01-01"}}, 400, iamsim.CodeInvalidAction},
		{"a PUT", http.MethodPut, action("GetRole", "RoleName", "x"), 400, iamsim.CodeInvalidAction},
		{"a missing required parameter", http.MethodPost, action("GetInstanceProfile"), 400, iamsim.CodeValidationError},
		{"an unknown profile", http.MethodPost, action("GetInstanceProfile", "InstanceProfileName", "ghost"), 404, iamsim.CodeNoSuchEntity},
		{"an existing profile", http.MethodPost, action("CreateInstanceProfile", "InstanceProfileName", "with-role"), 409, iamsim.CodeEntityAlreadyExists},
		{"a profile with its role", http.MethodPost, action("DeleteInstanceProfile", "InstanceProfileName", "with-role"), 409, iamsim.CodeDeleteConflict},
		{"a second role", http.MethodPost, action("AddRoleToInstanceProfile", "InstanceProfileName", "with-role", "RoleName", "node"), 409, iamsim.CodeLimitExceeded},
	}
	sim, err := iamsim.New(iamsim.Options{Roles: []string{"node"}})
	if err != nil {
		t.Fatalf("build iam sim: %v", err)
	}
	for _, setup := range []url.Values{
		action("CreateInstanceProfile", "InstanceProfileName", "with-role"),
		action("AddRoleToInstanceProfile", "InstanceProfileName", "with-role", "RoleName", "node"),
	} {
		if w := post(t, sim, http.MethodPost, setup); w.Code != http.StatusOK {
			t.Fatalf("%s answered %d: %s", setup.Get("Action"), w.Code, w.Body)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, sim, tc.method, tc.form)
			var body struct {
				XMLName xml.Name `xml:"https://iam.amazonaws.com/doc/2010-05-08/ ErrorResponse"`
				Type    string   `xml:"Error>Type"`
				Code    string   `xml:"Error>Code"`
				Message string   `xml:"Error>Message"`
				Request string   `xml:"RequestId"`
			}
			if err := xml.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("error body %q is not IAM's ErrorResponse: %v", w.Body, err)
			}
			if w.Code != tc.wantStatus || body.Code != tc.wantCode || body.Type != "Sender" || body.Message == "" || body.Request == "" {
				t.Errorf("answered %d %+v, want %d with a Sender %s, a message and a request id", w.Code, body, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

func TestResultsUseIAMsEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		form       url.Values
		wantResult bool
	}{
		{"an action with a result, by POST", http.MethodPost, action("CreateInstanceProfile", "InstanceProfileName", "p"), true},
		{"an action without one", http.MethodPost, action("TagInstanceProfile", "InstanceProfileName", "p", "Tags.member.1.Key", "k", "Tags.member.1.Value", "v"), false},
	}
	sim, err := iamsim.New(iamsim.Options{})
	if err != nil {
		t.Fatalf("build iam sim: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, sim, tc.method, tc.form)
			var body struct {
				XMLName xml.Name
				Result  *struct{} `xml:"https://iam.amazonaws.com/doc/2010-05-08/ CreateInstanceProfileResult"`
				Request string    `xml:"ResponseMetadata>RequestId"`
			}
			if err := xml.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not XML: %v", w.Body, err)
			}
			wantName := xml.Name{Space: "https://iam.amazonaws.com/doc/2010-05-08/", Local: tc.form.Get("Action") + "Response"}
			if w.Code != http.StatusOK || body.XMLName != wantName || (body.Result != nil) != tc.wantResult || body.Request == "" {
				t.Errorf("answered %d with %s", w.Code, w.Body)
			}
		})
	}
}

func TestAGetWithTheQueryInTheURLIsServed(t *testing.T) {
	sim, err := iamsim.New(iamsim.Options{Roles: []string{"node"}})
	if err != nil {
		t.Fatalf("build iam sim: %v", err)
	}
	r := httptest.NewRequest(http.MethodGet, "/?"+action("GetRole", "RoleName", "node").Encode(), nil)
	w := httptest.NewRecorder()
	sim.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "<RoleName>node</RoleName>") {
		t.Errorf("GetRole by GET answered %d: %s", w.Code, w.Body)
	}
}

func TestNewRefusesOptionsIAMWouldRefuse(t *testing.T) {
	tests := []struct {
		name string
		o    iamsim.Options
	}{
		{"an account id that is not 12 digits", iamsim.Options{AccountID: "12345"}},
		{"a role name with a space", iamsim.Options{Roles: []string{"node role"}}},
		{"the same role twice in other case", iamsim.Options{Roles: []string{"Node", "node"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := iamsim.New(tc.o); err == nil {
				t.Errorf("new accepted %+v", tc.o)
			}
		})
	}
}
