package conformance_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keywarden/keywarden/internal/conformance"
	"github.com/keywarden/keywarden/internal/kmiphttp"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

var update = flag.Bool("update", false, "write docs/CONFORMANCE.md from the live run (or KEYWARDEN_UPDATE_CONFORMANCE=1)")

// reportCommand is the command that regenerates the report.
const reportCommand = "go test ./internal/conformance -run TestOASISVectors -update"

// TestOASISVectors replays every OASIS KMIP vector file (1.0 to 1.4 from
// ovh/kmip-go, 2.1 from testdata) against a live keywarden server over TLS
// (the MSGENC files over HTTPS, in their encoding: see EncodingFor),
// the version folders concurrently, each file on a fresh connection, with a
// fresh server per group of files (see groups). Required files (see
// conformance.Required) must pass; the others are logged.
func TestOASISVectors(t *testing.T) {
	root, err := conformance.VectorRoot()
	if err != nil {
		t.Fatalf("VectorRoot: %v", err)
	}
	var (
		mu       sync.Mutex
		outcomes []conformance.Outcome
		total    int
	)
	dirs := map[string]string{"v2.1": filepath.Join("testdata", "v2.1")}
	for _, v := range conformance.Versions {
		dirs[v] = filepath.Join(root, v)
	}
	// The versions run concurrently (whatever -parallel says), each on its
	// own servers: a few vectors wait minutes for a key to expire.
	var wg sync.WaitGroup
	for _, version := range append(conformance.Versions, "v2.1") {
		dir := dirs[version]
		files, err := conformance.ListFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		total += len(files)
		wg.Go(func() {
			t.Run(version, func(t *testing.T) {
				for _, g := range groups(files) {
					// A group has its own server, stopped when it is done.
					t.Run(g.name, func(t *testing.T) {
						env := testenv.Start(t, testenv.WithLogger(serverLogger()),
							testenv.WithConfig(func(c *server.Config) {
								c.KMIPHTTPAddr = "127.0.0.1:0"
								// As an administrator may: fresh members of the
								// Object Group "default" are made on demand (TC_151).
								c.FreshGroups = []string{"default"}
							}))
						if needsCredentials(g.name) {
							setupCredentials(t, env) // credentials_test.go
						}
						prov := conformance.NewProvenance()
						run := func(t *testing.T, f string) {
							o := runFile(t, env, prov, version, filepath.Join(dir, f))
							mu.Lock()
							outcomes = append(outcomes, o)
							mu.Unlock()
							switch {
							case o.Passed:
							case o.Required:
								t.Errorf("required vector fails: %s", o.Problem)
							default:
								t.Logf("informational vector fails: %s", o.Problem)
							}
						}
						if len(g.files) == 1 && g.name == g.files[0] {
							run(t, g.files[0])
							return
						}
						for _, f := range g.files {
							t.Run(f, func(t *testing.T) { run(t, f) })
						}
					})
				}
			})
		})
	}
	wg.Wait()
	slices.SortStableFunc(outcomes, func(a, b conformance.Outcome) int {
		return strings.Compare(a.Version, b.Version)
	})
	logSummary(t, outcomes)
	expected := readExpected(t)
	updating := *update || os.Getenv("KEYWARDEN_UPDATE_CONFORMANCE") == "1"
	problems, improvements := conformance.Compare(expected, outcomes)
	for _, p := range improvements {
		t.Logf("improvement (update %s): %s", expectedPath, p)
	}
	for _, p := range problems {
		if len(outcomes) != total && strings.HasSuffix(p, "did not run") {
			continue // a -run filter left the file out
		}
		if updating && strings.Contains(p, "no line in the expected results") {
			continue // -update adds it
		}
		t.Errorf("expected results: %s", p)
	}
	if updating {
		if len(outcomes) != total {
			t.Fatalf("-update needs the full run: %d of %d files ran", len(outcomes), total)
		}
		exps := conformance.UpdateExpected(expected, outcomes)
		var eb bytes.Buffer
		if err := conformance.WriteExpected(&eb, exps, reportCommand); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(expectedPath, eb.Bytes(), 0o644); err != nil {
			t.Fatalf("write %s: %v", expectedPath, err)
		}
		expected = map[string]conformance.Expectation{}
		for _, e := range exps {
			expected[e.Key()] = e
		}
		var b bytes.Buffer
		if err := conformance.WriteMarkdown(&b, outcomes, reportCommand); err != nil {
			t.Fatal(err)
		}
		if err := conformance.WriteFileTable(&b, outcomes, expected); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", "docs", "CONFORMANCE.md")
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		t.Logf("wrote %s", path)
	}
}

// expectedPath is the checked-in expected result of every vector file.
var expectedPath = filepath.Join("testdata", "expected.tsv")

// readExpected reads expectedPath; a missing file is an empty set (every
// file then lacks a line, which -update fills in).
func readExpected(t *testing.T) map[string]conformance.Expectation {
	t.Helper()
	f, err := os.Open(expectedPath)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]conformance.Expectation{}
	}
	if err != nil {
		t.Fatalf("open %s: %v", expectedPath, err)
	}
	defer f.Close()
	exps, err := conformance.ParseExpected(f)
	if err != nil {
		t.Fatal(err)
	}
	return exps
}

// runFile runs one vector file on a fresh connection.
func runFile(t *testing.T, env *testenv.Env, prov *conformance.Provenance, version, path string) conformance.Outcome {
	t.Helper()
	o := conformance.Outcome{Version: version, File: filepath.Base(path), Required: conformance.Required(version, filepath.Base(path))}
	suite, err := conformance.LoadFile(path)
	if err != nil {
		o.Problem = err.Error()
		return o
	}
	var conn conformance.Conn
	if enc, ok := conformance.EncodingFor(o.File); ok {
		conn, err = conformance.DialHTTP("https://"+env.Server.KMIPHTTPAddr()+kmiphttp.Path, env.AdminTLS, enc)
	} else {
		conn, err = conformance.DialTLS(env.KMIPAddr, env.AdminTLS)
	}
	if err != nil {
		o.Problem = err.Error()
		return o
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*conformance.DefaultPollTimeout)
	defer cancel()
	res := suite.RunWith(ctx, conn, prov)
	o.Passed = res.Passed()
	if !o.Passed {
		o.Problem = res.FirstProblem()
		if testing.Verbose() {
			t.Log(res.Report())
		}
	}
	return o
}

// group is a set of files run in order against one server.
type group struct {
	name  string
	files []string
}

// groups splits the files of a version into the groups that share a
// server: each TC file alone (a test case is self-contained, and one that
// fails half-way must not leave objects for the next to find), the files of
// any other profile together, in order (SASED-M-3 reads what SASED-M-2
// registered).
func groups(files []string) []group {
	var out []group
	byProfile := map[string]int{}
	for _, f := range files {
		p := conformance.Profile(f)
		if p == "TC" {
			out = append(out, group{name: f, files: []string{f}})
			continue
		}
		i, ok := byProfile[p]
		if !ok {
			i = len(out)
			byProfile[p] = i
			out = append(out, group{name: p})
		}
		out[i].files = append(out[i].files, f)
	}
	return out
}

// serverLogger discards the server's logs unless KEYWARDEN_CONFORMANCE_LOG=1
// (hundreds of files would drown the failures).
func serverLogger() *slog.Logger {
	if os.Getenv("KEYWARDEN_CONFORMANCE_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func logSummary(t *testing.T, outcomes []conformance.Outcome) {
	var reqPass, reqTotal, infoPass, infoTotal int
	for _, o := range outcomes {
		switch {
		case o.Required && o.Passed:
			reqPass++
			reqTotal++
		case o.Required:
			reqTotal++
		case o.Passed:
			infoPass++
			infoTotal++
		default:
			infoTotal++
		}
	}
	t.Logf("required vectors: %d/%d passed; informational: %d/%d passed", reqPass, reqTotal, infoPass, infoTotal)
}
