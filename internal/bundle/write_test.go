package bundle

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/keygroups"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/store"
)

// faultyWriter does the real writes and refuses the failAt-th (1-based);
// a key group write refused with partly writes its first key before.
// after runs after each write done.
type faultyWriter struct {
	real   writer
	failAt int
	partly bool
	calls  int
	after  func(ctx context.Context, call int, kind, name string)
}

var errInjected = errors.New("injected write failure")

func (f *faultyWriter) label(ctx context.Context, as string, l Label) (labels.Removal, error) {
	f.calls++
	if f.calls == f.failAt {
		return nil, fmt.Errorf("write %d: %w", f.calls, errInjected)
	}
	rm, err := f.real.label(ctx, as, l)
	if err == nil && f.after != nil {
		f.after(ctx, f.calls, KindLabel, as)
	}
	return rm, err
}

func (f *faultyWriter) keyGroup(ctx context.Context, g KeyGroup) (string, []string, error) {
	f.calls++
	if f.calls == f.failAt {
		var written []string
		if f.partly {
			_, w, err := f.real.keyGroup(ctx, KeyGroup{Name: g.Name, Keys: g.Keys[:1]})
			if err != nil {
				return "", w, err
			}
			written = w
		}
		return "", written, fmt.Errorf("write %d: %w", f.calls, errInjected)
	}
	note, written, err := f.real.keyGroup(ctx, g)
	if err == nil && f.after != nil {
		f.after(ctx, f.calls, KindKeyGroup, g.Name)
	}
	return note, written, err
}

// testServer is a server's services over a real bbolt file and barrier.
type testServer struct {
	s  Services
	st store.Store
}

func newTestServer(t *testing.T) testServer {
	t.Helper()
	sealed := barriertest.New(t)
	m, err := keys.New(keys.Options{Store: sealed.Store, Barrier: sealed.Barrier})
	if err != nil {
		t.Fatal(err)
	}
	return testServer{st: sealed.Store, s: Services{
		Labels: labels.New(m, nil, nil), KeyGroups: keygroups.New(m, nil), Keys: m,
	}}
}

// snapshot copies the object records and index entries of the store.
func (ts testServer) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := ts.st.View(func(r store.Reader) error {
		for _, b := range []string{"objects", "index"} {
			err := r.Scan(b, nil, nil, func(k, v []byte) (bool, error) {
				out[b+"/"+string(k)] = string(v)
				return true, nil
			})
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// testLabel makes a bundle label: a self-signed certificate and its
// private key.
func testLabel(t *testing.T, name string, key *rsa.PrivateKey) Label {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return Label{Name: name, OAEPHash: labels.HashSHA256,
		CertPEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))}
}

func testGroup(name string, aliases ...string) KeyGroup {
	g := KeyGroup{Name: name}
	for i, a := range aliases {
		g.Keys = append(g.Keys, Key{Alias: a, Material: bytes.Repeat([]byte{byte(i + 1)}, 32), State: ttlv.EnumStr(kmip.StateActive)})
	}
	return g
}

func rsaKeys(t *testing.T, n int) []*rsa.PrivateKey {
	t.Helper()
	out := make([]*rsa.PrivateKey, n)
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = k
	}
	return out
}

func writeNames(ws []Write) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// TestApplyUndoesLabels fails the Nth write of an import: the labels
// written before it are removed (exactly their objects and index entries:
// the store is as before), a label the server had before is untouched,
// and only key groups, which carry no undo, can be left.
func TestApplyUndoesLabels(t *testing.T) {
	ctx := context.Background()
	ks := rsaKeys(t, 5)
	for _, tc := range []struct {
		name       string
		labels     []Label
		groups     []KeyGroup
		policy     Policy
		failAt     int
		partly     bool
		changeAt   int // a write whose label another writer changes afterwards
		wantFailed string
		wantUndone []string
		wantLeft   []string
	}{
		{name: "the third label fails", labels: []Label{testLabel(t, "A", ks[0]), testLabel(t, "B", ks[1]), testLabel(t, "C", ks[2])},
			failAt: 3, wantFailed: `label "C"`, wantUndone: []string{`label "A"`, `label "B"`}},
		{name: "the first label fails", labels: []Label{testLabel(t, "A", ks[0]), testLabel(t, "B", ks[1])},
			failAt: 1, wantFailed: `label "A"`},
		{name: "a key group after the labels fails", labels: []Label{testLabel(t, "A", ks[0]), testLabel(t, "B", ks[1])},
			groups: []KeyGroup{testGroup("G1", "g1k01", "g1k02")},
			failAt: 3, wantFailed: `key group "G1"`, wantUndone: []string{`label "A"`, `label "B"`}},
		{name: "a renamed label is removed, the server's own stays", labels: []Label{testLabel(t, "P", ks[3]), testLabel(t, "A", ks[0])},
			policy: Rename, failAt: 2, wantFailed: `label "A"`, wantUndone: []string{`label "P" (as "P_IMPORTED")`}},
		{name: "a second key group fails: the first is left", labels: []Label{testLabel(t, "A", ks[0])},
			groups: []KeyGroup{testGroup("G1", "g1k01"), testGroup("G2", "g2k01")},
			failAt: 3, wantFailed: `key group "G2"`, wantUndone: []string{`label "A"`}, wantLeft: []string{`key group "G1"`}},
		{name: "a key group fails half way: its keys written are left", labels: []Label{testLabel(t, "A", ks[0])},
			groups: []KeyGroup{testGroup("G1", "g1k01", "g1k02")},
			failAt: 2, partly: true, wantFailed: `key group "G1"`, wantUndone: []string{`label "A"`}, wantLeft: []string{`key group "G1"`}},
		{name: "a label changed since its import is left", labels: []Label{testLabel(t, "A", ks[0]), testLabel(t, "B", ks[1]), testLabel(t, "C", ks[2])},
			failAt: 3, changeAt: 1, wantFailed: `label "C"`, wantUndone: []string{`label "B"`}, wantLeft: []string{`label "A"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			// The server already has a label P, with another key.
			if _, err := ts.s.Labels.Import(ctx, "P", labels.ImportOptions{CertPEM: []byte(testLabel(t, "P", ks[4]).CertPEM)}); err != nil {
				t.Fatal(err)
			}
			before := ts.snapshot(t)
			fw := &faultyWriter{real: serviceWriter{ts.s}, failAt: tc.failAt, partly: tc.partly}
			fw.after = func(ctx context.Context, call int, kind, name string) {
				if call != tc.changeAt {
					return
				}
				lb, err := ts.s.Labels.Get(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				note := kmip.Attribute{AttributeName: "x-note", AttributeValue: ttlv.Value{Tag: kmip.TagAttributeValue, Value: "seen"}}
				if _, err := ts.s.Keys.AddAttribute(keys.WithAccess(ctx, keys.Access{Group: keys.DefaultGroup, AllGroups: true}), lb.CertificateID, note); err != nil {
					t.Fatal(err)
				}
			}
			c := &Contents{Labels: tc.labels, KeyGroups: tc.groups}
			_, err := apply(ctx, ts.s, c, ImportOptions{OnConflict: tc.policy}, fw)
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("apply: %v, want an *ImportError", err)
			}
			if !errors.Is(err, errInjected) || ie.Failed.String() != tc.wantFailed || !strings.Contains(err.Error(), tc.wantFailed) {
				t.Fatalf("error %q names %s, want %s and the cause", err, ie.Failed, tc.wantFailed)
			}
			if got := writeNames(ie.Undone); !slices.Equal(got, tc.wantUndone) {
				t.Errorf("undone %v, want %v", got, tc.wantUndone)
			}
			if got := writeNames(ie.Left); !slices.Equal(got, tc.wantLeft) {
				t.Errorf("left %v, want %v", got, tc.wantLeft)
			}
			if len(ie.Written) != len(ie.Undone)+len(ie.Left) {
				t.Errorf("written %v is not undone %v plus left %v", ie.Written, ie.Undone, ie.Left)
			}
			for _, l := range ie.Left {
				if l.Detail == "" || tc.partly && !strings.Contains(l.Detail, "partly written: keys g1k01;") {
					t.Errorf("left %s with reason %q", l, l.Detail)
				}
			}
			if len(tc.wantLeft) == 0 {
				if !errors.Is(err, ErrUndone) || errors.Is(err, ErrPartial) {
					t.Errorf("error %v should match ErrUndone only", err)
				}
				if after := ts.snapshot(t); !maps.Equal(before, after) {
					t.Errorf("the store changed: %d records before, %d after", len(before), len(after))
				}
			} else if !errors.Is(err, ErrPartial) || !strings.Contains(err.Error(), "left on this server") {
				t.Errorf("error %v should match ErrPartial and say what is left", err)
			}
			for _, u := range ie.Undone {
				name := u.Name
				if u.As != "" {
					name = u.As
				}
				if _, err := ts.s.Labels.Get(ctx, name); !errors.Is(err, labels.ErrNotFound) {
					t.Errorf("undone label %q: %v, want not found", name, err)
				}
			}
			// The server's own label P keeps its key.
			same, exists, err := sameLabelKey(ctx, ts.s.Labels, "P", testLabel(t, "P", ks[4]).CertPEM)
			if err != nil || !exists || !same {
				t.Errorf("label P after the import: exists %v, same key %v, %v", exists, same, err)
			}
			if len(tc.wantLeft) == 0 {
				// The names are free: the same import succeeds now.
				if _, err := Apply(ctx, ts.s, c, ImportOptions{OnConflict: tc.policy}); err != nil {
					t.Fatalf("import again: %v", err)
				}
			}
		})
	}
}

// TestApplyChecksKeyGroupsFirst: what a key group write would refuse is
// refused before any write, since a key group is not undone.
func TestApplyChecksKeyGroupsFirst(t *testing.T) {
	ctx := context.Background()
	ks := rsaKeys(t, 1)
	for _, tc := range []struct {
		name  string
		group func() KeyGroup
	}{
		{"a key without an alias", func() KeyGroup { return testGroup("G1", "g1k01", " ") }},
		{"a key of 5 bytes", func() KeyGroup {
			g := testGroup("G1", "g1k01", "g1k02")
			g.Keys[1].Material = g.Keys[1].Material[:5]
			return g
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			before := ts.snapshot(t)
			fw := &faultyWriter{real: serviceWriter{ts.s}}
			c := &Contents{Labels: []Label{testLabel(t, "A", ks[0])}, KeyGroups: []KeyGroup{tc.group()}}
			_, err := apply(ctx, ts.s, c, ImportOptions{}, fw)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), `"G1"`) {
				t.Fatalf("apply: %v, want ErrDamaged naming the key group", err)
			}
			if fw.calls != 0 || !maps.Equal(before, ts.snapshot(t)) {
				t.Fatalf("%d writes made before the refusal", fw.calls)
			}
		})
	}
}
