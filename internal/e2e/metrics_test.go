package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/testenv"
)

// TestMetricsShowKMIPRequests: KMIP requests made by the test appear in the
// Prometheus text served on the admin listener, which is on its own address.
func TestMetricsShowKMIPRequests(t *testing.T) {
	env := testenv.Start(t)
	if env.AdminAddr == env.KMIPAddr || env.AdminAddr == env.DeviceAddr {
		t.Fatalf("listeners share an address: %s %s %s", env.KMIPAddr, env.DeviceAddr, env.AdminAddr)
	}
	c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
	id := c.must(aesKey("metrics-key")).(*payloads.CreateResponsePayload).UniqueIdentifier
	for range 3 {
		c.must(&payloads.GetRequestPayload{UniqueIdentifier: id})
	}
	if it, _ := c.call(&payloads.GetRequestPayload{UniqueIdentifier: "missing"}); it.ResultReason == 0 {
		t.Fatal("get of a missing id succeeded")
	}
	cl := &http.Client{Transport: &http.Transport{TLSClientConfig: env.AdminTLS}, Timeout: 10 * time.Second}
	resp, err := cl.Get("https://" + env.AdminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{
		`keywarden_requests_total{operation="Create",outcome="ok",protocol="kmip"} 1`,
		`keywarden_requests_total{operation="Get",outcome="ok",protocol="kmip"} 3`,
		`keywarden_requests_total{operation="Get",outcome="failed",protocol="kmip"} 1`,
		`keywarden_request_duration_seconds_count{operation="Get",protocol="kmip"}`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", grep(text, "keywarden_request"))
	}
}

func grep(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
