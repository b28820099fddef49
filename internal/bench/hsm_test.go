package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/barrier"
	"github.com/keywarden/keywarden/internal/barrier/softhsmtest"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/labels"
	"github.com/keywarden/keywarden/internal/server"
	"github.com/keywarden/keywarden/internal/testenv"
)

// hsmGetConns is the connection count of BenchmarkGetPKCS11.
const hsmGetConns = 16

// hsmGetChunk is how many Gets one provider serves before the other takes
// its turn.
const hsmGetChunk = 500

// initPKCS11 initialises a data directory whose master key lives in a
// fresh SoftHSM2 token and puts the PIN in the environment for the server.
func initPKCS11(b *testing.B) string {
	b.Helper()
	tok := softhsmtest.New(b, "kw-bench")
	dir := b.TempDir()
	err := server.Init(context.Background(), server.InitConfig{
		DataDir: dir, Seal: barrier.KindPKCS11,
		PKCS11:  barrier.PKCS11Config{Module: tok.Module, TokenLabel: tok.Label},
		PINFile: tok.PINFile,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Setenv(barrier.PINEnv, tok.PIN)
	return dir
}

// BenchmarkGetPKCS11 compares Get with the PKCS#11 master key (SoftHSM2)
// against the file master key in the same run: two servers, hsmGetConns
// connections to each, served in alternating chunks of hsmGetChunk Gets,
// alternating which goes first, so that both see the same machine. It reports each provider's ops/s and
// their ratio (pkcs11 / file; the HSM is not on the path of serving an
// unsealed key, so the target is at least 0.9), as the ratio of the totals
// and as the median of the rounds' ratios.
func BenchmarkGetPKCS11(b *testing.B) {
	file := newGetFixture(b)
	p11 := newGetFixture(b, testenv.WithDataDir(initPKCS11(b)))
	if desc, err := os.ReadFile(filepath.Join(p11.env.DataDir, barrier.MasterKeyFile)); err != nil || !bytes.Contains(desc, []byte(`"kind": "pkcs11"`)) {
		b.Fatalf("the second server's master key is not in the token: %v\n%s", err, desc)
	}
	filePool := dialPool(b, file.env.KMIPAddr, file.conf, hsmGetConns)
	p11Pool := dialPool(b, p11.env.KMIPAddr, p11.conf, hsmGetConns)
	var (
		fileTime, p11Time time.Duration
		ratios            []float64 // per round: pkcs11 ops/s over file ops/s
	)
	b.ResetTimer()
	for round, done := 0, 0; done < b.N; round, done = round+1, done+hsmGetChunk {
		n := min(hsmGetChunk, b.N-done)
		var fd, pd time.Duration
		// Alternate which provider goes first, so that neither always
		// follows the other's garbage or cache state.
		for turn := range 2 {
			var err error
			if (round+turn)%2 == 0 {
				fd, err = getChunk(file, filePool, n)
			} else {
				pd, err = getChunk(p11, p11Pool, n)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		fileTime += fd
		p11Time += pd
		ratios = append(ratios, fd.Seconds()/pd.Seconds())
	}
	b.StopTimer()
	fileOps := float64(b.N) / fileTime.Seconds()
	p11Ops := float64(b.N) / p11Time.Seconds()
	b.ReportMetric(fileOps, "file-ops/s")
	b.ReportMetric(p11Ops, "pkcs11-ops/s")
	b.ReportMetric(p11Ops/fileOps, "ratio")
	// The median of the rounds' ratios resists the load swings of a
	// shared machine better than the ratio of the totals.
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
}

// getChunk sends n Gets of f over pool, one goroutine per connection, and
// returns the wall time they took.
func getChunk(f *getFixture, pool []*kmipConn, n int) (time.Duration, error) {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
	)
	start := time.Now()
	for w := range pool {
		wg.Go(func() {
			for i := w; i < n; i += len(pool) {
				if err := f.get(pool[w], i); err != nil {
					mu.Lock()
					errs = err
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errs
}

// BenchmarkFlow3592HSM measures the 3592 read flow with HSM-resident
// labels: each read unwraps an EEDK (RSA-OAEP, SHA-1 on SoftHSM2) inside
// the token, with flowDrives drives at once.
func BenchmarkFlow3592HSM(b *testing.B) {
	env := startServer(b, testenv.WithDataDir(initPKCS11(b)))
	drives := flowFixtureOn(b, env, labels.CreateOptions{Bits: flowLabelBits, HSM: true})
	lb, err := env.Server.Labels().Get(context.Background(), flowLabel1)
	if err != nil || !lb.HSM {
		b.Fatalf("label %+v, %v: want it in the HSM", lb, err)
	}
	type volume struct {
		key    []byte
		e1, e2 codec.EEDK
	}
	vols := make([]volume, flowDrives)
	for w, d := range drives {
		key, e1, e2, err := d.writeKey(fmt.Sprintf("H%05d", w))
		if err != nil {
			b.Fatal(err)
		}
		vols[w] = volume{key, e1, e2}
	}
	b.Run("read", func(b *testing.B) {
		runWorkers(b, flowDrives, func(w, i int) error {
			v := vols[w]
			key, err := drives[w].readKey(fmt.Sprintf("H%05d", w), v.e1, v.e2)
			if err != nil {
				return err
			}
			if !bytes.Equal(key, v.key) {
				return fmt.Errorf("read key: drive %s got another data key", drives[w].serial)
			}
			return nil
		})
	})
}
