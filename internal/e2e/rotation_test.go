package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/store"
	"github.com/keywarden/keywarden/internal/testenv"
)

// rotationKeys is how many keys the rotation test creates: more than two
// batches of re-sealing.
const rotationKeys = 700

// buildKeywarden builds cmd/keywarden into a temporary directory.
func buildKeywarden(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "keywarden")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/keywarden/keywarden/cmd/keywarden")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// offlineBarrier opens dir's store and barrier (the server is stopped).
func offlineBarrier(t *testing.T, dir string) (*barrier.Barrier, *store.Bolt) {
	t.Helper()
	mk, err := barrier.OpenMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(filepath.Join(dir, server.StoreFile), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := barrier.New(context.Background(), st, mk, barrier.Options{})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return b, st
}

// rawRecord reads bucket/key from dir's store as it is on disk.
func rawRecord(t *testing.T, dir, bucket, key string) []byte {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(dir, server.StoreFile), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var v []byte
	err = st.View(func(r store.Reader) error {
		got, err := r.Get(bucket, []byte(key))
		v = bytes.Clone(got)
		return err
	})
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return v
}

// allRecords returns every value of bucket in dir's store.
func allRecords(t *testing.T, dir, bucket string) [][]byte {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(dir, server.StoreFile), store.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out [][]byte
	err = st.View(func(r store.Reader) error {
		return r.Scan(bucket, nil, nil, func(_, v []byte) (bool, error) {
			out = append(out, bytes.Clone(v))
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// countInFile counts the records whose ciphertext (after the 5-byte
// header) appears anywhere in dir's store file, free pages included.
func countInFile(t *testing.T, dir string, records [][]byte) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, server.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range records {
		if bytes.Contains(data, r[5:]) {
			n++
		}
	}
	return n
}

// generationsOnDisk counts the records of bucket by the generation they
// are sealed under (the header's id).
func generationsOnDisk(t *testing.T, st store.Store, bucket string) map[uint32]int {
	t.Helper()
	out := map[uint32]int{}
	err := st.View(func(r store.Reader) error {
		return r.Scan(bucket, nil, nil, func(_, v []byte) (bool, error) {
			if len(v) > 5 && v[0] == 1 {
				out[uint32(v[1])<<24|uint32(v[2])<<16|uint32(v[3])<<8|uint32(v[4])]++
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKeyringRotationKilledAndResumed rotates the keyring of a stopped
// server with the CLI, kills it with SIGKILL halfway, resumes it, and
// checks every key, the old generation's removal, and that a copied
// record of a destroyed key can no longer be opened.
func TestKeyringRotationKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the keywarden binary")
	}
	bin := buildKeywarden(t)
	dir := t.TempDir()
	want := map[string][]byte{}
	var destroyedID string
	t.Run("create keys", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for i := range rotationKeys {
			created := c.must(aesKey(fmt.Sprintf("rot-key-%d", i))).(*payloads.CreateResponsePayload)
			want[created.UniqueIdentifier] = getSymmetric(t, c, created.UniqueIdentifier)
		}
		destroyedID = c.must(aesKey("to-be-destroyed")).(*payloads.CreateResponsePayload).UniqueIdentifier
	})
	// The destroyed key's sealed record, copied aside before its
	// destruction and before the rotation (as an old backup or a free page
	// of the store file would keep it).
	copied := rawRecord(t, dir, "objects", destroyedID)
	t.Run("destroy a key", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		c.must(&payloads.RevokeRequestPayload{UniqueIdentifier: destroyedID})
		c.must(&payloads.DestroyRequestPayload{UniqueIdentifier: destroyedID})
	})
	b, st := offlineBarrier(t, dir)
	if _, err := b.Open("objects", []byte(destroyedID), copied); err != nil {
		t.Fatalf("before the rotation the copied record opens: %v", err)
	}
	st.Close()
	oldRecords := allRecords(t, dir, "objects")

	const pauseAfter = 300
	t.Run("rotation killed halfway", func(t *testing.T) {
		cmd := exec.Command(bin, "keyring", "rotate", "--data-dir", dir)
		cmd.Env = append(os.Environ(), "KEYWARDEN_TEST_ROTATE_PAUSE_AFTER="+fmt.Sprint(pauseAfter))
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		paused := make(chan string, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			var all strings.Builder
			for sc.Scan() {
				all.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), "rotation paused after") {
					paused <- sc.Text()
					return
				}
			}
			paused <- "EXITED: " + all.String()
		}()
		select {
		case line := <-paused:
			if strings.HasPrefix(line, "EXITED") {
				t.Fatalf("rotation did not pause: %s", line)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("rotation did not reach the pause")
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()

		b, st := offlineBarrier(t, dir)
		defer st.Close()
		rot, err := b.KeyringRotation()
		if err != nil || !rot.InProgress || rot.Resealed < pauseAfter || rot.Resealed >= uint64(rotationKeys) {
			t.Fatalf("after the kill: %+v, %v; want in progress, %d+ of %d re-sealed", rot, err, pauseAfter, rotationKeys)
		}
		gens := generationsOnDisk(t, st, "objects")
		if gens[1] == 0 || gens[2] == 0 {
			t.Fatalf("records by generation after the kill: %v; want both 1 and 2", gens)
		}
		t.Logf("killed with %d records re-sealed; objects by generation %v", rot.Resealed, gens)
	})
	t.Run("resumed", func(t *testing.T) {
		out, err := exec.Command(bin, "keyring", "rotate", "--data-dir", dir, "--no-compact").CombinedOutput()
		if err != nil {
			t.Fatalf("resume: %v\n%s", err, out)
		}
		for _, w := range []string{"resuming the keyring rotation", "generations [1] destroyed", "not compacted"} {
			if !strings.Contains(string(out), w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
		t.Logf("before compaction the store file still holds %d of the %d records sealed under generation 1 (free pages)",
			countInFile(t, dir, oldRecords), len(oldRecords))
		if out, err := exec.Command(bin, "keyring", "compact", "--data-dir", dir).CombinedOutput(); err != nil {
			t.Fatalf("compact: %v\n%s", err, out)
		}
		if n := countInFile(t, dir, oldRecords); n != 0 {
			t.Errorf("after compaction the store file still holds %d records sealed under generation 1", n)
		}
	})
	t.Run("old generation gone", func(t *testing.T) {
		b, st := offlineBarrier(t, dir)
		defer st.Close()
		if gens := b.Generations(); len(gens) != 1 || gens[0].ID != 2 {
			t.Errorf("generations %+v; want only 2", gens)
		}
		if gens := generationsOnDisk(t, st, "objects"); gens[1] != 0 {
			t.Errorf("records still under generation 1: %v", gens)
		}
		if _, err := b.Open("objects", []byte(destroyedID), copied); !errors.Is(err, barrier.ErrTampered) {
			t.Errorf("the copied record of the destroyed key opens after the rotation: %v", err)
		}
		if rot, err := b.KeyringRotation(); err != nil || rot.InProgress || rot.Finished.IsZero() {
			t.Errorf("rotation status %+v, %v; want finished", rot, err)
		}
	})
	t.Run("every key readable", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for id, material := range want {
			if got := getSymmetric(t, c, id); !bytes.Equal(got, material) {
				t.Fatalf("key %s changed by the rotation", id)
			}
		}
	})
}

// TestKeyringRotationOnline rotates the keyring of a running server through
// the admin API while it serves, then restarts it: the store file is
// compacted at the start and every key is still readable.
func TestKeyringRotationOnline(t *testing.T) {
	dir := t.TempDir()
	want := map[string][]byte{}
	t.Run("rotate while serving", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for i := range 300 {
			created := c.must(aesKey(fmt.Sprintf("online-key-%d", i))).(*payloads.CreateResponsePayload)
			want[created.UniqueIdentifier] = getSymmetric(t, c, created.UniqueIdentifier)
		}
		api := adminClient(t, env)
		k, err := api.RotateKeyring(context.Background())
		if err != nil {
			t.Fatalf("rotate: %v", err)
		}
		if !k.Rotation.InProgress || k.Rotation.Target != 2 {
			t.Fatalf("rotation %+v; want in progress to generation 2", k.Rotation)
		}
		if _, err := api.RotateKeyring(context.Background()); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Errorf("second rotate: %v; want a conflict", err)
		}
		// Keys are served and created during the rotation.
		for i := range 20 {
			created := c.must(aesKey(fmt.Sprintf("during-%d", i))).(*payloads.CreateResponsePayload)
			want[created.UniqueIdentifier] = getSymmetric(t, c, created.UniqueIdentifier)
		}
		deadline := time.Now().Add(60 * time.Second)
		for k.Rotation.InProgress {
			if time.Now().After(deadline) {
				t.Fatalf("rotation still running: %+v", k.Rotation)
			}
			time.Sleep(200 * time.Millisecond)
			if k, err = api.Keyring(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if k.Rotation.Error != "" || len(k.Generations) != 1 || k.Generations[0].ID != 2 || !k.CompactionPending {
			t.Fatalf("after the rotation: %+v", k)
		}
		for id, material := range want {
			if got := getSymmetric(t, c, id); !bytes.Equal(got, material) {
				t.Fatalf("key %s changed by the rotation", id)
			}
		}
	})
	if !store.CompactPending(filepath.Join(dir, server.StoreFile)) {
		t.Fatal("no compaction pending after an online rotation")
	}
	t.Run("restart compacts", func(t *testing.T) {
		env := testenv.Start(t, testenv.WithDataDir(dir))
		if store.CompactPending(filepath.Join(dir, server.StoreFile)) {
			t.Error("compaction still pending after the restart")
		}
		c := dialKMIP(t, env.KMIPAddr, env.AdminTLS)
		for id, material := range want {
			if got := getSymmetric(t, c, id); !bytes.Equal(got, material) {
				t.Fatalf("key %s changed across the compaction", id)
			}
		}
	})
}
