package iamsim

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// namespace is the XML namespace of every IAM response.
const namespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// writeResult wraps result as IAM does: <ActionResponse><ActionResult>…</ActionResult>
// <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata></ActionResponse>, the
// SDK reading only the ActionResult element. A nil result (Delete…, Add…, Tag…) leaves it out.
func writeResult(w http.ResponseWriter, action string, result any, requestID string) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	response := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}}
	err := enc.EncodeToken(response)
	if err == nil && result != nil {
		err = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(responseMetadata{RequestID: requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(response.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil { // only a programming error in the response structs gets here
		http.Error(w, "marshal "+action+" response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

func writeXML(w http.ResponseWriter, status int, body any) {
	out, err := xml.Marshal(body)
	if err != nil { // only a programming error in the response structs gets here
		http.Error(w, "marshal response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

// members is IAM's list shape: each item in its own <member> element.
type members[T any] struct {
	Member []T `xml:"member"`
}

// iamTime renders timestamps as IAM does: ISO 8601 in UTC, to the second.
func iamTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// encodePolicy percent-encodes a policy document, as IAM returns every policy document; the SDK
// hands it back still encoded.
func encodePolicy(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}
