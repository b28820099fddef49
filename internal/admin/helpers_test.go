package admin_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/testenv"
)

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// problem decodes the answer as a problem document, failing the test if
// it is not one.
func (a answer) problem(t *testing.T) admin.Problem {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != admin.ProblemContentType {
		t.Fatalf("status %d: Content-Type %q, want %q; body %s", a.status, ct, admin.ProblemContentType, a.body)
	}
	var p admin.Problem
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("problem body %s: %v", a.body, err)
	}
	if p.Status != a.status || p.Title == "" || !strings.HasPrefix(p.Type, "urn:keywarden:problem:") {
		t.Fatalf("problem %+v for HTTP status %d", p, a.status)
	}
	return p
}

// decode decodes a JSON answer into v, failing the test on error.
func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("status %d: Content-Type %q, want application/json; body %s", a.status, ct, a.body)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// call sends one request to env's admin listener as conf. A string body
// is sent as is; any other non-nil body is encoded as JSON.
func call(t *testing.T, env *testenv.Env, conf *tls.Config, method, path string, body any) answer {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "https://"+env.AdminAddr+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	tr := &http.Transport{TLSClientConfig: conf}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// mustStatus fails the test unless the answer has status want.
func mustStatus(t *testing.T, a answer, want int, what string) {
	t.Helper()
	if a.status != want {
		t.Fatalf("%s: status %d, want %d; body %s", what, a.status, want, a.body)
	}
}

// leafFingerprint is the fingerprint of the certificate conf presents.
func leafFingerprint(t *testing.T, conf *tls.Config) string {
	t.Helper()
	if len(conf.Certificates) == 0 || len(conf.Certificates[0].Certificate) == 0 {
		t.Fatal("configuration presents no certificate")
	}
	sum := sha256.Sum256(conf.Certificates[0].Certificate[0])
	return hex.EncodeToString(sum[:])
}
