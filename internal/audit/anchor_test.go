package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/store"
)

// sealedStore opens a real bbolt store with a barrier over a fresh master
// key.
func sealedStore(t *testing.T) (*store.Bolt, *barrier.Barrier) {
	t.Helper()
	sealed := barriertest.New(t)
	st, b := sealed.Store, sealed.Barrier
	return st, b
}

func TestStoreAnchor(t *testing.T) {
	st, b := sealedStore(t)
	a, err := NewStoreAnchor(st, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if h, err := a.Load(ctx); err != nil || h.Seq != 0 {
		t.Fatalf("Load before any Store: %+v, %v", h, err)
	}
	key := b.IndexKey([]byte("audit-chain"))
	tr := openTrail(t, Config{ChainKey: key, Anchor: a})
	record(t, tr, 1, 4)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := a.Load(ctx)
	if err != nil || h.Seq != 4 {
		t.Fatalf("Load: %+v, %v", h, err)
	}
	if rep, err := Verify(tr.cfg.Dir, "", key, h); err != nil || !rep.AnchorChecked {
		t.Fatalf("Verify with the stored anchor: %+v, %v", rep, err)
	}
	// The head is sealed: its MAC is not in the store in the clear.
	err = st.View(func(r store.Reader) error {
		v, err := r.Get(anchorBucket, []byte(anchorKey))
		if err != nil {
			return err
		}
		if bytes.Contains(v, []byte(h.MAC)) {
			t.Error("the anchored MAC is stored in the clear")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoKeyMaterial checks that no record field can hold bytes (an Event
// has only strings, times, durations and lists of strings) and that the
// chain key never reaches the files.
func TestNoKeyMaterial(t *testing.T) {
	var walk func(reflect.Type, string)
	walk = func(ty reflect.Type, path string) {
		switch ty.Kind() {
		case reflect.Struct:
			if ty == reflect.TypeOf(time.Time{}) {
				return
			}
			for i := range ty.NumField() {
				walk(ty.Field(i).Type, path+"."+ty.Field(i).Name)
			}
		case reflect.String, reflect.Int64, reflect.Uint64:
		case reflect.Slice:
			if ty.Elem().Kind() != reflect.String {
				t.Errorf("%s is a %v: it could carry key bytes", path, ty)
			}
		default:
			t.Errorf("%s is a %v: want strings, numbers and times only", path, ty)
		}
	}
	walk(reflect.TypeOf(Record{}), "Record")

	key := []byte("0123456789abcdef-chain-key")
	tr := openTrail(t, Config{ChainKey: key, MaxSize: 4096})
	record(t, tr, 1, 30)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := trailFiles(tr.cfg.Dir, DefaultName)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, enc := range []string{string(key), hex.EncodeToString(key), base64.StdEncoding.EncodeToString(key), base64.RawURLEncoding.EncodeToString(key)} {
			if strings.Contains(string(data), enc) {
				t.Fatalf("%s holds the chain key", f)
			}
		}
	}
}
