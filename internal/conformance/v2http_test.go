package conformance_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keywarden/keywarden/internal/conformance"
	"github.com/keywarden/keywarden/internal/kmiphttp"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestV21VectorsOverHTTPS replays the KMIP 2.1 vector files over KMIP over
// HTTPS in the XML and JSON encodings, each profile's files in order on a
// fresh server: every file that passes over TLS (all of them) must pass in
// both text encodings, which carry the 2.x fields (Attributes, Attribute
// Reference, ...) the typed 1.4 messages would drop.
func TestV21VectorsOverHTTPS(t *testing.T) {
	dir := filepath.Join("testdata", "v2.1")
	files, err := conformance.ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []struct {
		name string
		enc  conformance.Encoding
	}{{"XML", conformance.EncodingXML}, {"JSON", conformance.EncodingJSON}} {
		t.Run(enc.name, func(t *testing.T) {
			for _, g := range groups(files) {
				t.Run(g.name, func(t *testing.T) {
					env := testenv.Start(t, testenv.WithLogger(serverLogger()),
						testenv.WithConfig(func(c *server.Config) { c.KMIPHTTPAddr = "127.0.0.1:0" }))
					prov := conformance.NewProvenance()
					for _, f := range g.files {
						t.Run(f, func(t *testing.T) {
							suite, err := conformance.LoadFile(filepath.Join(dir, f))
							if err != nil {
								t.Fatal(err)
							}
							conn, err := conformance.DialHTTP("https://"+env.Server.KMIPHTTPAddr()+kmiphttp.Path, env.AdminTLS, enc.enc)
							if err != nil {
								t.Fatal(err)
							}
							defer conn.Close()
							ctx, cancel := context.WithTimeout(context.Background(), 2*conformance.DefaultPollTimeout)
							defer cancel()
							if res := suite.RunWith(ctx, conn, prov); !res.Passed() {
								t.Errorf("fails over HTTPS in %s: %s", enc.name, res.FirstProblem())
							}
						})
					}
				})
			}
		})
	}
}
