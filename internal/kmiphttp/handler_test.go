package kmiphttp

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/keys"
	kwkmip "github.com/keywarden/keywarden/internal/kmip"
	"github.com/keywarden/keywarden/internal/pki"
)

// fixture is a live KMIP-over-HTTPS endpoint with a real router behind it.
type fixture struct {
	url    string
	client *http.Client // with the administrator certificate
	noCert *http.Client // trusts the server, presents no certificate
}

func start(t *testing.T) fixture {
	t.Helper()
	sealed := barriertest.New(t)
	dir, mk, st, b := sealed.Dir, sealed.MasterKey, sealed.Store, sealed.Barrier
	if err := pki.Init(dir, mk, nil); err != nil {
		t.Fatal(err)
	}
	m, err := keys.New(keys.Options{Store: st, Barrier: b})
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := pki.LoadServerTLS(dir, mk)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h := NewHandler(kwkmip.NewRouter(m, nil), Options{MaxBody: 64 << 10})
	go func() { done <- Serve(ctx, ln, serverTLS, h, time.Second, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	p := pki.PathsFor(dir)
	clientTLS, err := pki.ClientTLS(p.CACert, p.AdminCert, p.AdminKey)
	if err != nil {
		t.Fatal(err)
	}
	bare := clientTLS.Clone()
	bare.Certificates = nil
	return fixture{
		url:    "https://" + ln.Addr().String() + Path,
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS}},
		noCert: &http.Client{Transport: &http.Transport{TLSClientConfig: bare}},
	}
}

func (f fixture) post(t *testing.T, c *http.Client, contentType string, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Post(f.url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func createAES() kmip.RequestMessage {
	return kmip.NewRequestMessage(kmip.V1_4, &payloads.CreateRequestPayload{
		ObjectType: kmip.ObjectTypeSymmetricKey,
		TemplateAttribute: kmip.TemplateAttribute{Attribute: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameCryptographicAlgorithm, AttributeValue: kmip.CryptographicAlgorithmAES},
			{AttributeName: kmip.AttributeNameCryptographicLength, AttributeValue: int32(256)},
			{AttributeName: kmip.AttributeNameCryptographicUsageMask, AttributeValue: kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt},
		}},
	})
}

func TestEncodings(t *testing.T) {
	f := start(t)
	msg := createAES()
	tests := []struct {
		name        string
		contentType string
		encode      func(any) []byte
		decode      func([]byte, any) error
	}{
		{"TTLV", ContentTypeTTLV, ttlv.MarshalTTLV, ttlv.UnmarshalTTLV},
		{"XML", ContentTypeXML, ttlv.MarshalXML, ttlv.UnmarshalXML},
		{"XML with charset", "text/xml; charset=utf-8", ttlv.MarshalXML, ttlv.UnmarshalXML},
		{"JSON", ContentTypeJSON, ttlv.MarshalJSON, ttlv.UnmarshalJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.post(t, f.client, tc.contentType, tc.encode(&msg))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if want, _, _ := strings.Cut(tc.contentType, ";"); resp.Header.Get("Content-Type") != want {
				t.Errorf("content type %q, want %q", resp.Header.Get("Content-Type"), want)
			}
			var out kmip.ResponseMessage
			if err := tc.decode(body, &out); err != nil {
				t.Fatalf("decode response: %v\n%s", err, body)
			}
			if len(out.BatchItem) != 1 || out.BatchItem[0].ResultStatus != kmip.ResultStatusSuccess {
				t.Fatalf("response %+v", out)
			}
			cr, ok := out.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload)
			if !ok || cr.UniqueIdentifier == "" {
				t.Fatalf("payload %#v", out.BatchItem[0].ResponsePayload)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	f := start(t)
	xmlReq := ttlv.MarshalXML(ptr(createAES()))
	t.Run("no client certificate", func(t *testing.T) {
		resp, err := f.noCert.Post(f.url, ContentTypeXML, bytes.NewReader(xmlReq))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("served a client without a certificate")
			}
		}
	})
	statuses := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		want        int
	}{
		{"GET", http.MethodGet, Path, ContentTypeXML, nil, http.StatusMethodNotAllowed},
		{"other path", http.MethodPost, "/other", ContentTypeXML, xmlReq, http.StatusNotFound},
		{"unknown content type", http.MethodPost, Path, "text/plain", xmlReq, http.StatusUnsupportedMediaType},
		{"body too large", http.MethodPost, Path, ContentTypeXML, bytes.Repeat([]byte("x"), 65<<10), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range statuses {
		t.Run(tc.name, func(t *testing.T) {
			u := strings.TrimSuffix(f.url, Path) + tc.path
			req, err := http.NewRequest(tc.method, u, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.contentType)
			resp, err := f.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	t.Run("malformed XML is an Invalid Message in XML", func(t *testing.T) {
		resp, body := f.post(t, f.client, ContentTypeXML, []byte("<RequestMessage><Nope/>"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var out kmip.ResponseMessage
		if err := ttlv.UnmarshalXML(body, &out); err != nil {
			t.Fatalf("decode: %v\n%s", err, body)
		}
		if len(out.BatchItem) != 1 || out.BatchItem[0].ResultStatus != kmip.ResultStatusOperationFailed {
			t.Fatalf("response %+v", out)
		}
	})
}

func ptr[T any](v T) *T { return &v }
