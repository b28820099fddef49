package admin_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"

	"github.com/keywarden/keywarden/internal/admin"
	"github.com/keywarden/keywarden/internal/testenv"
)

func TestLabels(t *testing.T) {
	env := testenv.Start(t)
	a := call(t, env, env.AdminTLS, "POST", "/v1/labels", map[string]any{"name": "L1", "bits": 1024, "oaep_hash": "SHA-1"})
	mustStatus(t, a, http.StatusCreated, "create")
	if bytes.Contains(a.body, []byte("PRIVATE KEY")) {
		t.Fatalf("create answer holds key material: %s", a.body)
	}
	var created admin.Label
	a.decode(t, &created)
	if created.Name != "L1" || created.Bits != 1024 || created.OAEPHash != "SHA-1" || !created.HasPrivateKey || len(created.KeyHash) != 64 {
		t.Fatalf("created %+v", created)
	}

	a = call(t, env, env.AdminTLS, "GET", "/v1/labels/L1/cert", nil)
	mustStatus(t, a, http.StatusOK, "cert")
	block, _ := pem.Decode(a.body)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("cert answer is not a PEM certificate: %s", a.body)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.Subject.CommonName != "L1" {
		t.Fatalf("cert %v, %v", cert, err)
	}
	certPEM := string(a.body)

	a = call(t, env, env.AdminTLS, "POST", "/v1/labels/import", map[string]any{"name": "partner", "cert_pem": certPEM})
	mustStatus(t, a, http.StatusCreated, "import")
	var partner admin.Label
	a.decode(t, &partner)
	if partner.HasPrivateKey || partner.PrivateKeyID != "" || partner.KeyHash != created.KeyHash {
		t.Fatalf("partner %+v", partner)
	}

	var list []admin.Label
	a = call(t, env, env.AdminTLS, "GET", "/v1/labels", nil)
	mustStatus(t, a, http.StatusOK, "list")
	a.decode(t, &list)
	if len(list) != 2 || list[0].Name != "L1" || list[1].Name != "partner" {
		t.Fatalf("list %+v", list)
	}

	refusals := []struct {
		name, method, path string
		body               any
		status             int
		slug               string
	}{
		{"duplicate", "POST", "/v1/labels", map[string]any{"name": "L1", "bits": 1024}, http.StatusConflict, "exists"},
		{"bad size", "POST", "/v1/labels", map[string]any{"name": "L2", "bits": 512}, http.StatusBadRequest, "invalid"},
		{"bad hash", "POST", "/v1/labels", map[string]any{"name": "L2", "oaep_hash": "MD5"}, http.StatusBadRequest, "invalid"},
		{"unknown field", "POST", "/v1/labels", map[string]any{"name": "L2", "private_key": "x"}, http.StatusBadRequest, "invalid"},
		{"not a certificate", "POST", "/v1/labels/import", map[string]any{"name": "L2", "cert_pem": "junk"}, http.StatusBadRequest, "invalid"},
		{"missing", "GET", "/v1/labels/nosuch", nil, http.StatusNotFound, "not-found"},
		{"missing cert", "GET", "/v1/labels/nosuch/cert", nil, http.StatusNotFound, "not-found"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			a := call(t, env, env.AdminTLS, tc.method, tc.path, tc.body)
			mustStatus(t, a, tc.status, tc.name)
			if p := a.problem(t); p.Type != "urn:keywarden:problem:"+tc.slug {
				t.Fatalf("problem %+v", p)
			}
		})
	}
}
