package kmip

import (
	"bytes"
	"context"
	"encoding/xml"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"
)

// panicCounter counts error records about recovered panics, which the
// router logs instead of letting them reach a client.
type panicCounter struct {
	slog.Handler
	n *atomic.Int64
}

func (h panicCounter) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		h.n.Add(1)
	}
	return nil
}

func (h panicCounter) Enabled(context.Context, slog.Level) bool { return true }

var variable = regexp.MustCompile(`"\$[A-Za-z0-9_+-]+"`)

// vectorRequests turns the request messages of a few OASIS test vectors
// into binary TTLV seeds (variables replaced by constants).
func vectorRequests(t testing.TB) [][]byte {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/ovh/kmip-go").Output()
	if err != nil {
		t.Logf("no vectors: %v", err)
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "kmiptest/testdata/v1.4/*.xml"))
	var seeds [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		raw = variable.ReplaceAll(raw, []byte(`"2024-01-01T00:00:00Z"`))
		dec := xml.NewDecoder(bytes.NewReader(raw))
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "KMIP" {
				break
			}
		}
		d, err := ttlv.NewXMLFromDecoder(dec)
		if err != nil {
			continue
		}
		for d.Tag() == kmip.TagRequestMessage {
			var req kmip.RequestMessage
			var resp kmip.ResponseMessage
			if safe(func() error { return d.TagAny(kmip.TagRequestMessage, &req) }) != nil {
				break
			}
			seeds = append(seeds, ttlv.MarshalTTLV(&req))
			if safe(func() error { return d.TagAny(kmip.TagResponseMessage, &resp) }) != nil {
				break
			}
		}
	}
	return seeds
}

func safe(f func() error) (err error) {
	defer func() {
		if recover() != nil {
			err = errInvalidMessage
		}
	}()
	return f()
}

// FuzzHandleMessage drives the whole request path after framing: decode,
// lost-item check, batch routing, the lifecycle core and the store. It
// fails on any panic (recovered or not) and on an answer that is not a
// well-formed response message.
func FuzzHandleMessage(f *testing.F) {
	for _, s := range vectorRequests(f) {
		f.Add(s)
	}
	f.Add([]byte{0x42, 0x00, 0x78, 0x01, 0, 0, 0, 0})
	r := newTestRouter(f)
	var panics atomic.Int64
	r.log = slog.New(panicCounter{n: &panics})
	f.Fuzz(func(t *testing.T, msg []byte) {
		before := panics.Load()
		resp := r.HandleMessage(context.Background(), Peer{}, msg)
		if panics.Load() != before {
			t.Fatalf("request made the router panic")
		}
		var out kmip.ResponseMessage
		if err := ttlv.UnmarshalTTLV(resp, &out); err != nil {
			t.Fatalf("answer is not a response message: %v", err)
		}
		if len(out.BatchItem) == 0 {
			t.Fatalf("answer has no batch item")
		}
	})
}
