package conformance

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"
)

func TestEncodingFor(t *testing.T) {
	tests := []struct {
		file string
		want Encoding
		ok   bool
	}{
		{"MSGENC-XML-M-1-14.xml", EncodingXML, true},
		{"MSGENC-JSON-M-1-13.xml", EncodingJSON, true},
		{"MSGENC-HTTPS-M-1-14.xml", EncodingTTLV, true},
		{"SKLC-M-1-14.xml", "", false},
		{"MSGENC-OTHER-M-1-14.xml", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, ok := EncodingFor(tc.file)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("EncodingFor = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// fakeKMIPHTTP answers every Discover Versions request in the encoding it
// came in, after checking that it decodes in that encoding.
func fakeKMIPHTTP(t *testing.T) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ct := r.Header.Get("Content-Type")
		codecs := map[string]struct {
			un func([]byte, any) error
			m  func(any) []byte
		}{
			string(EncodingTTLV): {ttlv.UnmarshalTTLV, ttlv.MarshalTTLV},
			string(EncodingXML):  {ttlv.UnmarshalXML, ttlv.MarshalXML},
			string(EncodingJSON): {ttlv.UnmarshalJSON, ttlv.MarshalJSON},
		}
		c, ok := codecs[ct]
		var req kmip.RequestMessage
		if !ok || c.un(body, &req) != nil || len(req.BatchItem) != 1 || req.BatchItem[0].Operation != kmip.OperationDiscoverVersions {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		resp := kmip.ResponseMessage{
			Header: kmip.ResponseHeader{ProtocolVersion: kmip.V1_4, TimeStamp: time.Unix(1700000000, 0).UTC(), BatchCount: 1},
			BatchItem: []kmip.ResponseBatchItem{{
				Operation: kmip.OperationDiscoverVersions, ResultStatus: kmip.ResultStatusSuccess,
				ResponsePayload: &payloads.DiscoverVersionsResponsePayload{ProtocolVersion: []kmip.ProtocolVersion{kmip.V1_4}},
			}},
		}
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(c.m(&resp))
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPConn(t *testing.T) {
	srv := fakeKMIPHTTP(t)
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	req := kmip.NewRequestMessage(kmip.V1_4, &payloads.DiscoverVersionsRequestPayload{})
	for _, enc := range []Encoding{EncodingTTLV, EncodingXML, EncodingJSON} {
		t.Run(string(enc), func(t *testing.T) {
			conn, err := DialHTTP(srv.URL+"/kmip", &tls.Config{RootCAs: pool}, enc)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			raw, err := conn.RoundTrip(context.Background(), ttlv.MarshalTTLV(&req))
			if err != nil {
				t.Fatal(err)
			}
			var resp kmip.ResponseMessage
			if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
				t.Fatalf("response is not TTLV: %v", err)
			}
			p, ok := resp.BatchItem[0].ResponsePayload.(*payloads.DiscoverVersionsResponsePayload)
			if !ok || len(p.ProtocolVersion) != 1 || p.ProtocolVersion[0] != kmip.V1_4 {
				t.Fatalf("response %+v", resp)
			}
		})
	}
	t.Run("unknown encoding", func(t *testing.T) {
		if _, err := DialHTTP(srv.URL, nil, "text/plain"); err == nil {
			t.Fatal("DialHTTP accepted text/plain")
		}
	})
	t.Run("refused request is an error", func(t *testing.T) {
		conn, err := DialHTTP(srv.URL+"/kmip", &tls.Config{RootCAs: pool}, EncodingXML)
		if err != nil {
			t.Fatal(err)
		}
		query := kmip.NewRequestMessage(kmip.V1_4, &payloads.QueryRequestPayload{})
		if _, err := conn.RoundTrip(context.Background(), ttlv.MarshalTTLV(&query)); err == nil {
			t.Fatal("RoundTrip hid an HTTP 400")
		}
	})
}
