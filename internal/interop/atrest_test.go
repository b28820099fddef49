package interop

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/kmipclient"

	"github.com/keywarden/keywarden/internal/testenv"
)

// TestAtRestSecrecy creates and registers keys through kmipclient, reads
// their material back with Get, shuts the server down, then searches every
// file under the data directory, and everything the server logged, for
// that material in any encoding (see encodings).
func TestAtRestSecrecy(t *testing.T) {
	logs := &lockedBuffer{}
	env := testenv.Start(t, testenv.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	c := dialAdmin(t, env)
	usage := kmip.CryptographicUsageEncrypt | kmip.CryptographicUsageDecrypt

	var secrets []secret
	for i, bits := range []int{256, 256, 256, 256, 128, 192} {
		resp, err := c.Create().AES(bits, usage).WithName("atrest-aes-" + string(rune('a'+i))).Exec()
		if err != nil {
			t.Fatalf("Create AES-%d: %v", bits, err)
		}
		m := getSymmetric(t, c, resp.UniqueIdentifier)
		if len(m) != bits/8 {
			t.Fatalf("Get %s: %d bytes, want %d", resp.UniqueIdentifier, len(m), bits/8)
		}
		secrets = append(secrets, secret{what: "created AES key " + resp.UniqueIdentifier, value: m})
	}

	registered := randomBytes(t, 32)
	reg, err := c.Register().SymmetricKey(kmip.CryptographicAlgorithmAES, usage, registered).Exec()
	if err != nil {
		t.Fatalf("Register AES key: %v", err)
	}
	if got := getSymmetric(t, c, reg.UniqueIdentifier); !bytes.Equal(got, registered) {
		t.Fatalf("Get of registered key %s returned different material", reg.UniqueIdentifier)
	}
	secrets = append(secrets, secret{what: "registered AES key " + reg.UniqueIdentifier, value: registered})

	password := randomBytes(t, 24)
	if _, err := c.Register().Secret(kmip.SecretDataTypePassword, password).Exec(); err != nil {
		t.Fatalf("Register secret data: %v", err)
	}
	secrets = append(secrets, secret{what: "registered secret data", value: password})

	kp, err := c.CreateKeyPair().RSA(2048, kmip.CryptographicUsageSign, kmip.CryptographicUsageVerify).Exec()
	if err != nil {
		t.Fatalf("Create Key Pair RSA-2048: %v", err)
	}
	got, err := c.Get(kp.PrivateKeyUniqueIdentifier).Exec()
	if err != nil {
		t.Fatalf("Get private key: %v", err)
	}
	pk, ok := got.Object.(*kmip.PrivateKey)
	if !ok {
		t.Fatalf("Get private key: object %T", got.Object)
	}
	priv, err := pk.RSA()
	if err != nil {
		t.Fatalf("Get private key: %v", err)
	}
	id := kp.PrivateKeyUniqueIdentifier
	secrets = append(secrets,
		secret{what: "RSA private exponent of " + id, value: priv.D.Bytes()},
		secret{what: "RSA prime p of " + id, value: priv.Primes[0].Bytes()},
		secret{what: "RSA prime q of " + id, value: priv.Primes[1].Bytes()},
	)
	if der, err := pk.KeyBlock.GetBytes(); err == nil {
		secrets = append(secrets, secret{what: "RSA private key encoding of " + id, value: der})
	}

	_ = c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.Server.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	scanned := map[string]int64{}
	err = filepath.WalkDir(env.DataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(env.DataDir, path)
		scanned[rel] = int64(len(data))
		for _, leak := range findLeaks(data, secrets) {
			t.Errorf("%s holds %s", rel, leak)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", env.DataDir, err)
	}
	// The store must have been scanned and hold the objects: a scan of an
	// empty or missing database would prove nothing.
	if n := scanned["keywarden.db"]; n == 0 {
		t.Fatalf("keywarden.db not scanned or empty; scanned %v", scanned)
	}
	t.Logf("scanned %d files for %d secrets: %v", len(scanned), len(secrets), scanned)

	for _, leak := range findLeaks(logs.Bytes(), secrets) {
		t.Errorf("server log holds %s", leak)
	}
}

func getSymmetric(t *testing.T, c *kmipclient.Client, id string) []byte {
	t.Helper()
	resp, err := c.Get(id).Exec()
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	sk, ok := resp.Object.(*kmip.SymmetricKey)
	if !ok {
		t.Fatalf("Get %s: object %T", id, resp.Object)
	}
	m, err := sk.KeyMaterial()
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return m
}

// lockedBuffer collects the server's log lines from its goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
