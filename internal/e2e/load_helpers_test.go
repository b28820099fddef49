package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/client/device"
	"github.com/keywarden/keywarden/internal/device/codec"
	"github.com/keywarden/keywarden/internal/pki"
)

// loadDriveSerial is the 3592 drive of the write-load tests.
const loadDriveSerial = "000007888499"

// setupProcDrive creates two labels, a 3592 group using them and a drive
// bound to a new client certificate, through the admin API; it returns the
// drive's TLS configuration.
func setupProcDrive(t *testing.T, api *client.Client, caPath string) *tls.Config {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, name := range []string{tapeLabel1, tapeLabel2} {
		if _, err := api.CreateLabel(ctx, client.LabelSpec{Name: name, Bits: 2048}); err != nil {
			t.Fatalf("label %s: %v", name, err)
		}
	}
	if _, err := api.CreateGroup(ctx, client.GroupSpec{Name: "TAPES_3592", Family: "3592",
		Alias1: tapeLabel1, Alias2: tapeLabel2, Unknown: "reject"}); err != nil {
		t.Fatalf("group: %v", err)
	}
	ic, err := api.IssueCert(ctx, "drive-load", string(pki.RoleClient))
	if err != nil {
		t.Fatalf("issue drive certificate: %v", err)
	}
	cert, err := tls.X509KeyPair([]byte(ic.Certificate), []byte(ic.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	if _, err := api.AddDevice(ctx, client.DeviceSpec{Family: "3592", Serial: loadDriveSerial, Group: "TAPES_3592",
		State: "active", Fingerprints: []string{ic.Fingerprint}}); err != nil {
		t.Fatalf("add drive: %v", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
}

// writeLoad creates KMIP keys and asks for 3592 write keys against a set
// of servers, and remembers exactly what was acknowledged.
type writeLoad struct {
	kmipAddrs   func() []string // the KMIP listeners to try, in order
	deviceAddrs func() []string // the device listeners, in failover order
	adminTLS    *tls.Config
	driveTLS    *tls.Config

	mu      sync.Mutex
	keys    []string               // ids of acknowledged creates
	volumes map[string]ackedVolume // volser → what the acknowledged write returned
	acked   atomic.Int64           // acknowledged creates
	fails   atomic.Int64           // refused or broken attempts
	lastErr atomic.Value           // string: the last failure seen
}

// run starts workers KMIP writers creating creates keys in all and one
// drive asking for writes write keys; it returns when they are done or
// ctx ends.
func (l *writeLoad) run(ctx context.Context, workers, creates, writes int) error {
	l.volumes = map[string]ackedVolume{}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { l.kmipWorker(ctx, w, &next, int64(creates)) })
	}
	errc := make(chan error, 1)
	wg.Go(func() { errc <- l.driveWorker(ctx, writes) })
	wg.Wait()
	if err := <-errc; err != nil {
		return err
	}
	if int(l.acked.Load()) < creates {
		return fmt.Errorf("only %d of %d creates acknowledged: %v", l.acked.Load(), creates, ctx.Err())
	}
	return nil
}

func (l *writeLoad) fail(err error) {
	l.fails.Add(1)
	l.lastErr.Store(err.Error())
}

func (l *writeLoad) kmipWorker(ctx context.Context, w int, next *atomic.Int64, total int64) {
	var c *kmipConn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	server := w
	for ctx.Err() == nil {
		n := next.Add(1)
		if n > total {
			return
		}
		for ctx.Err() == nil {
			if c == nil {
				addrs := l.kmipAddrs()
				var err error
				if c, err = dialKMIPConn(addrs[server%len(addrs)], l.adminTLS); err != nil {
					l.fail(err)
					c = nil
					server++
					time.Sleep(20 * time.Millisecond)
					continue
				}
			}
			id, err := c.create(fmt.Sprintf("load-%06d", n))
			if err == nil {
				l.mu.Lock()
				l.keys = append(l.keys, id)
				l.mu.Unlock()
				l.acked.Add(1)
				break
			}
			// Refused (no quorum) or the connection broke: not
			// acknowledged; try the next server.
			l.fail(err)
			c.close()
			c, server = nil, server+1
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func (l *writeLoad) driveWorker(ctx context.Context, writes int) error {
	var c *device.Client
	for i := 0; i < writes && ctx.Err() == nil; {
		if c == nil {
			// Built again after a failure: a restarted server listens on
			// new ports.
			var err error
			if c, err = device.New(device.Config{Servers: l.deviceAddrs(), TLS: l.driveTLS, Timeout: 3 * time.Second}); err != nil {
				return err
			}
		}
		volser := fmt.Sprintf("LD%04d", i)
		dk, e1, e2, err := c.WriteKey(ctx, codec.WriteKeyRequest{DriveSerial: loadDriveSerial, WWN: loadDriveSerial, Volser: volser})
		if err != nil {
			var de *device.Error
			if errors.As(err, &de) && de.Status != codec.StatusInternal {
				return fmt.Errorf("write key for %s: %w", volser, err)
			}
			l.fail(err)
			c = nil
			time.Sleep(50 * time.Millisecond)
			continue // every server failed: the same volume again
		}
		l.mu.Lock()
		l.volumes[volser] = ackedVolume{dk: dk, e1: e1, e2: e2}
		l.mu.Unlock()
		i++
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// ackedVolume is an acknowledged 3592 write: the data key and its EEDKs.
type ackedVolume struct {
	dk     []byte
	e1, e2 codec.EEDK
}

// ackedKeys returns a copy of the acknowledged key ids.
func (l *writeLoad) ackedKeys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.keys...)
}

// checkAcked checks that the admin API of api lists every acknowledged
// key and holds a write usage record for every acknowledged volume,
// waiting up to 20 seconds for the node to apply what the quorum
// committed.
func (l *writeLoad) checkAcked(t *testing.T, name string, api *client.Client) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		missingKeys, missingVols, err := l.missing(api)
		if err == nil && missingKeys == 0 && missingVols == 0 {
			t.Logf("%s: all %d acknowledged keys and %d usage records present", name, len(l.keys), len(l.volumes))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d acknowledged keys and %d acknowledged usage records missing (err %v)", name, missingKeys, missingVols, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (l *writeLoad) missing(api *client.Client) (keys, vols int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listed, _, err := api.Keys(ctx, client.KeyFilter{Limit: 10000})
	if err != nil {
		return -1, -1, err
	}
	have := make(map[string]bool, len(listed))
	for _, k := range listed {
		have[k.ID] = true
	}
	for _, id := range l.ackedKeys() {
		if !have[id] {
			keys++
		}
	}
	recs, err := api.Usage(ctx, client.UsageFilter{DriveSerial: loadDriveSerial, Limit: 100000})
	if err != nil {
		return keys, -1, err
	}
	written := map[string]bool{}
	for _, r := range recs {
		if r.Operation == "write" && r.Outcome == "ok" {
			written[r.Volser] = true
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for v := range l.volumes {
		if !written[v] {
			vols++
		}
	}
	return keys, vols, nil
}
