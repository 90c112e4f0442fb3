package webhook

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/nodewright/nodewright/apis/conversion"
)

// maxReviewBytes bounds a ConversionReview body; the API server sends at most a list's worth
// of objects, far below this.
const maxReviewBytes = 32 << 20

// ConvertHandler answers ConversionReviews. A request it cannot read gets 400; an object it
// cannot convert fails the whole review with a message naming the object, as the API server
// expects.
func ConvertHandler(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST a ConversionReview", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxReviewBytes))
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		review := &apiextensionsv1.ConversionReview{}
		if err := json.Unmarshal(body, review); err != nil || review.Request == nil {
			http.Error(w, fmt.Sprintf("not a ConversionReview with a request: %v", err), http.StatusBadRequest)
			return
		}
		review.Response = convert(review.Request, log)
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(review); err != nil {
			log.Error("write conversion response", "error", err)
		}
	})
}

func convert(req *apiextensionsv1.ConversionRequest, log *slog.Logger) *apiextensionsv1.ConversionResponse {
	resp := &apiextensionsv1.ConversionResponse{UID: req.UID, Result: metav1.Status{Status: metav1.StatusSuccess}}
	for i, raw := range req.Objects {
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw.Raw); err != nil {
			return failed(resp, fmt.Sprintf("object %d is not a Kubernetes object: %v", i, err))
		}
		out, warnings, err := conversion.Convert(obj, req.DesiredAPIVersion)
		if err != nil {
			return failed(resp, fmt.Sprintf("convert %s %q to %s: %v", obj.GetKind(), obj.GetName(), req.DesiredAPIVersion, err))
		}
		for _, w := range warnings {
			log.Debug("conversion", "kind", obj.GetKind(), "name", obj.GetName(), "to", req.DesiredAPIVersion, "note", w)
		}
		data, err := out.MarshalJSON()
		if err != nil {
			return failed(resp, fmt.Sprintf("encode %s %q: %v", obj.GetKind(), obj.GetName(), err))
		}
		resp.ConvertedObjects = append(resp.ConvertedObjects, runtime.RawExtension{Raw: data})
	}
	return resp
}

func failed(resp *apiextensionsv1.ConversionResponse, msg string) *apiextensionsv1.ConversionResponse {
	resp.ConvertedObjects = nil
	resp.Result = metav1.Status{Status: metav1.StatusFailure, Message: msg}
	return resp
}
