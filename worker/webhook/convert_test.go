package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

const v1beta1Pool = `{"apiVersion":"karpenter.sh/v1beta1","kind":"NodePool","metadata":{"name":"general","uid":"u-1"},
"spec":{"disruption":{"consolidationPolicy":"WhenUnderutilized","expireAfter":"Never"},
"template":{"spec":{"nodeClassRef":{"name":"default"},"requirements":[{"key":"karpenter.sh/capacity-type","operator":"In","values":["spot"]}]}}}}`

func review(desired string, objects ...string) []byte {
	r := apiextensionsv1.ConversionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "ConversionReview"},
		Request:  &apiextensionsv1.ConversionRequest{UID: "req-1", DesiredAPIVersion: desired},
	}
	for _, o := range objects {
		r.Request.Objects = append(r.Request.Objects, runtime.RawExtension{Raw: []byte(o)})
	}
	data, _ := json.Marshal(r)
	return data
}

func TestConvertHandler(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		body       []byte
		wantStatus int
		// check looks at a 200 answer's review.
		check func(t *testing.T, resp *apiextensionsv1.ConversionResponse)
	}{
		{
			name: "a v1beta1 NodePool is converted as Karpenter v1.0 converts it", method: http.MethodPost,
			body: review("karpenter.sh/v1", v1beta1Pool), wantStatus: http.StatusOK,
			check: func(t *testing.T, resp *apiextensionsv1.ConversionResponse) {
				if resp.UID != "req-1" || resp.Result.Status != metav1.StatusSuccess || len(resp.ConvertedObjects) != 1 {
					t.Fatalf("response %+v, want one object converted for req-1", resp)
				}
				u := &unstructured.Unstructured{}
				if err := u.UnmarshalJSON(resp.ConvertedObjects[0].Raw); err != nil {
					t.Fatal(err)
				}
				policy, _, _ := unstructured.NestedString(u.Object, "spec", "disruption", "consolidationPolicy")
				expire, _, _ := unstructured.NestedString(u.Object, "spec", "template", "spec", "expireAfter")
				group, _, _ := unstructured.NestedString(u.Object, "spec", "template", "spec", "nodeClassRef", "group")
				if u.GetAPIVersion() != "karpenter.sh/v1" || policy != "WhenEmptyOrUnderutilized" || expire != "Never" ||
					group != "karpenter.k8s.aws" || u.GetUID() != "u-1" {
					t.Errorf("converted %s: policy %q expireAfter %q group %q uid %q", u.GetAPIVersion(), policy, expire, group, u.GetUID())
				}
			},
		},
		{
			name: "an object that cannot be converted fails the review naming it", method: http.MethodPost,
			body: review("karpenter.sh/v1", `{"apiVersion":"karpenter.sh/v1beta1","kind":"NodePool","metadata":{"name":"bad",
"annotations":{"nodewright.io/v1-fields":"{not json"}},"spec":{"template":{"spec":{}}}}`), wantStatus: http.StatusOK,
			check: func(t *testing.T, resp *apiextensionsv1.ConversionResponse) {
				if resp.Result.Status != metav1.StatusFailure || !strings.Contains(resp.Result.Message, `NodePool "bad"`) || resp.ConvertedObjects != nil {
					t.Errorf("response %+v, want a failure naming NodePool bad and no objects", resp)
				}
			},
		},
		{
			name: "a kind the webhook does not convert fails the review", method: http.MethodPost,
			body: review("karpenter.sh/v1", `{"apiVersion":"karpenter.sh/v1beta1","kind":"Provisioner","metadata":{"name":"old"}}`), wantStatus: http.StatusOK,
			check: func(t *testing.T, resp *apiextensionsv1.ConversionResponse) {
				if resp.Result.Status != metav1.StatusFailure || !strings.Contains(resp.Result.Message, "Provisioner") {
					t.Errorf("response %+v, want a failure naming the kind", resp)
				}
			},
		},
		{name: "a body that is not a review is a bad request", method: http.MethodPost, body: []byte("{"), wantStatus: http.StatusBadRequest},
		{name: "a review without a request is a bad request", method: http.MethodPost, body: []byte(`{"kind":"ConversionReview"}`), wantStatus: http.StatusBadRequest},
		{name: "only POST is served", method: http.MethodGet, wantStatus: http.StatusMethodNotAllowed},
	}
	srv := httptest.NewServer(ConvertHandler(slog.New(slog.DiscardHandler)))
	defer srv.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.check == nil {
				return
			}
			var got apiextensionsv1.ConversionReview
			if err := json.Unmarshal(body, &got); err != nil || got.Response == nil || got.Request != nil {
				t.Fatalf("answer %s is not a review with only a response: %v", body, err)
			}
			tt.check(t, got.Response)
		})
	}
}
