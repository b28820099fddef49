package server_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/kmiphttp"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestKMIPOverHTTPS starts a server with the KMIP over HTTPS listener and
// asks it a Discover Versions in KMIP XML with the administrator
// certificate; a server without the option serves no such listener.
func TestKMIPOverHTTPS(t *testing.T) {
	t.Run("not served by default", func(t *testing.T) {
		env := testenv.Start(t)
		if addr := env.Server.KMIPHTTPAddr(); addr != "" {
			t.Fatalf("KMIPHTTPAddr = %q without the option", addr)
		}
	})
	t.Run("XML request answered in XML", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithConfig(func(c *server.Config) { c.KMIPHTTPAddr = "127.0.0.1:0" }))
		addr := env.Server.KMIPHTTPAddr()
		if addr == "" {
			t.Fatal("no KMIP over HTTPS address")
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: env.AdminTLS}}
		req := `<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="1"/>` +
			`<ProtocolVersionMinor type="Integer" value="4"/></ProtocolVersion><BatchCount type="Integer" value="1"/></RequestHeader>` +
			`<BatchItem><Operation type="Enumeration" value="DiscoverVersions"/><RequestPayload></RequestPayload></BatchItem></RequestMessage>`
		resp, err := client.Post("https://"+addr+kmiphttp.Path, kmiphttp.ContentTypeXML, bytes.NewReader([]byte(req)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<ResultStatus type="Enumeration" value="Success"/>`) {
			t.Fatalf("status %d:\n%s", resp.StatusCode, body)
		}
	})
}
