package admin_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/migrate"
	"github.com/keywarden/keywarden/internal/testenv"
)

// labelPEMs makes an RSA key pair and a self-signed certificate, as PEM.
func labelPEMs(t *testing.T, name string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}))
}

func TestImportBundle(t *testing.T) {
	env := testenv.Start(t)
	cert, key := labelPEMs(t, "MIG_L1")
	_, otherKey := labelPEMs(t, "OTHER")
	bundle := func() map[string]any {
		return map[string]any{
			"group": "ekm", "alias1": "MIG_L1", "alias2": "MIG_L1",
			"labels":     []any{map[string]any{"name": "MIG_L1", "cert_pem": cert, "key_pem": key}},
			"drives":     []any{map[string]any{"family": "3592", "serial": "000007888422", "wwn": "500507630240FBCC"}},
			"key_groups": []any{map[string]any{"name": "LTO_MIG", "aliases": "mig01-03"}},
			"usage": []any{map[string]any{"drive_ssn": "000007888422", "volser": "WXY662",
				"key_alias1": "MIG_L1", "time": "2011-10-18T19:35:08Z"}},
		}
	}
	post := func(body map[string]any) answer {
		a := call(t, env, env.AdminTLS, "POST", "/v1/import", body)
		if bytes.Contains(a.body, []byte("PRIVATE KEY")) {
			t.Fatalf("the answer holds key material: %s", a.body)
		}
		return a
	}
	verbs := func(a answer) map[string]string {
		var rep migrate.Report
		a.decode(t, &rep)
		out := map[string]string{}
		for _, it := range rep.Items {
			out[it.Kind+" "+it.Name] = string(it.Verb)
		}
		return out
	}

	a := post(map[string]any{"dry_run": true, "bundle": bundle()})
	mustStatus(t, a, http.StatusOK, "dry run")
	if v := verbs(a); v["label MIG_L1"] != "create" || v["device 3592 000007888422"] != "create" || v["keygroup LTO_MIG"] != "create" {
		t.Fatalf("dry run plan %v", v)
	}
	if a := call(t, env, env.AdminTLS, "GET", "/v1/labels/MIG_L1", nil); a.status != http.StatusNotFound {
		t.Fatalf("the dry run wrote a label: %d", a.status)
	}

	a = post(map[string]any{"bundle": bundle()})
	mustStatus(t, a, http.StatusOK, "apply")
	var rep migrate.Report
	a.decode(t, &rep)
	if !rep.Applied || rep.Summary == nil || rep.Summary.Created["label"] != 1 || rep.Summary.UsageImported != 1 {
		t.Fatalf("report %s", a.body)
	}
	mustStatus(t, call(t, env, env.AdminTLS, "GET", "/v1/labels/MIG_L1", nil), http.StatusOK, "migrated label")

	a = post(map[string]any{"bundle": bundle()})
	mustStatus(t, a, http.StatusOK, "again")
	for item, verb := range verbs(a) {
		if verb != "identical" {
			t.Errorf("second import: %s is %s", item, verb)
		}
	}

	conflicting := bundle()
	other, _ := labelPEMs(t, "MIG_L1")
	conflicting["labels"] = []any{map[string]any{"name": "MIG_L1", "cert_pem": other}}
	conflicting["drives"] = []any{map[string]any{"family": "3592", "serial": "NEWDRIVE01"}}
	a = post(map[string]any{"bundle": conflicting})
	mustStatus(t, a, http.StatusConflict, "conflict")
	if v := verbs(a); v["partner MIG_L1"] != "conflict" || v["device 3592 NEWDRIVE01"] != "create" {
		t.Fatalf("conflict plan %v", v)
	}
	if a := call(t, env, env.AdminTLS, "GET", "/v1/devices?serial=NEWDRIVE01", nil); bytes.Contains(a.body, []byte("NEWDRIVE01")) {
		t.Fatalf("a refused import wrote a device: %s", a.body)
	}

	mismatched := bundle()
	mismatched["labels"] = []any{map[string]any{"name": "MIG_L2", "cert_pem": cert, "key_pem": otherKey}}
	refusals := []struct {
		name string
		body map[string]any
	}{
		{"bad policy", map[string]any{"on_conflict": "overwrite", "bundle": bundle()}},
		{"key of another certificate", map[string]any{"bundle": mismatched}},
		{"not a certificate", map[string]any{"bundle": map[string]any{"labels": []any{map[string]any{"name": "X", "cert_pem": "junk"}}}}},
		{"bad alias set", map[string]any{"bundle": map[string]any{"key_groups": []any{map[string]any{"name": "G", "aliases": "z9-z1"}}}}},
		{"usage without volser", map[string]any{"bundle": map[string]any{"usage": []any{map[string]any{"time": "2011-10-18T19:35:08Z"}}}}},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			a := post(tc.body)
			mustStatus(t, a, http.StatusBadRequest, tc.name)
			if p := a.problem(t); p.Type != "urn:keywarden:problem:invalid" {
				t.Fatalf("problem %+v", p)
			}
		})
	}
}
