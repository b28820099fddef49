package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/backup"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// TestBackupRestoreServesTheSameKeys takes an online backup of a server
// while KMIP clients keep creating keys, restores it into a new data
// directory and serves it: a KMIP Get of a key and a 3592 read of a tape
// written before the backup give the same results on the restored server,
// to the same administrator and drive certificates.
func TestBackupRestoreServesTheSameKeys(t *testing.T) {
	f := newTapeFixture(t)
	a := f.env
	ctx := context.Background()

	kc := dialKMIP(t, a.KMIPAddr, a.AdminTLS)
	created := kc.must(aesKey("before-backup")).(*payloads.CreateResponsePayload)
	material := getSymmetric(t, kc, created.UniqueIdentifier)
	drive := newDeviceClient(t, f.conf, a.DeviceAddr)
	data := randomData(t, 150_000)
	img := writeVolume(t, drive, f.serial, "BKP001", data)

	// A write load runs through the backup.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var loadErr atomic.Value
	var loadCount atomic.Int64
	load := dialKMIP(t, a.KMIPAddr, a.AdminTLS)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			it, err := load.call(aesKey(fmt.Sprintf("load-%d", i)))
			if err == nil && it.ResultStatus != kmip.ResultStatusSuccess {
				err = fmt.Errorf("create: %s", it.ResultMessage)
			}
			if err != nil {
				loadErr.Store(err)
				return
			}
			loadCount.Add(1)
		}
	}()
	for loadCount.Load() < 5 {
		time.Sleep(5 * time.Millisecond)
	}
	pass := []byte("backup passphrase for the e2e test")
	var buf bytes.Buffer
	n, err := adminClient(t, a).Backup(ctx, pass, &buf)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("online backup: %v", err)
	}
	if v := loadErr.Load(); v != nil {
		t.Fatalf("the write load failed during the backup: %v", v)
	}
	if n != int64(buf.Len()) || n == 0 {
		t.Fatalf("backup of %d bytes, %d received", n, buf.Len())
	}
	t.Logf("online backup: %d bytes while %d keys were created", n, loadCount.Load())
	after := kc.must(aesKey("after-backup")).(*payloads.CreateResponsePayload)

	file := filepath.Join(t.TempDir(), "a.kwbackup")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Verify(bytes.NewReader(buf.Bytes()), []byte("another passphrase")); !errors.Is(err, backup.ErrWrongPassphrase) {
		t.Fatalf("verify with a wrong passphrase: %v", err)
	}
	dirB := filepath.Join(t.TempDir(), "restored")
	if _, err := backup.Restore(ctx, file, dirB, pass, backup.RestoreOptions{}); err != nil {
		t.Fatalf("restore: %v", err)
	}
	b := testenv.Start(t, testenv.WithDataDir(dirB))

	t.Run("KMIP Get gives the same key", func(t *testing.T) {
		// A's administrator certificate: the CA came with the backup.
		kb := dialKMIP(t, b.KMIPAddr, a.AdminTLS)
		if got := getSymmetric(t, kb, created.UniqueIdentifier); !bytes.Equal(got, material) {
			t.Fatal("the restored server serves other key material under the same id")
		}
		it, err := kb.call(&payloads.GetRequestPayload{UniqueIdentifier: after.UniqueIdentifier})
		if err != nil {
			t.Fatal(err)
		}
		if it.ResultStatus == kmip.ResultStatusSuccess {
			t.Fatal("a key created after the backup is on the restored server")
		}
	})
	t.Run("3592 read of a tape written before the backup", func(t *testing.T) {
		got, err := readVolume(newDeviceClient(t, f.conf, b.DeviceAddr), f.serial, img)
		if err != nil {
			t.Fatalf("read through the restored server: %v", err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("the restored server gives another data key")
		}
		orig, err := readVolume(drive, f.serial, img)
		if err != nil || !bytes.Equal(orig, got) {
			t.Fatalf("read through the original server: %v", err)
		}
	})
	t.Run("the same administrator certificate on the admin API", func(t *testing.T) {
		if ans := adminCall(t, b, a.AdminTLS, "GET", "/v1/labels/"+tapeLabel1, ""); ans.status != http.StatusOK {
			t.Fatalf("label on the restored server: %d %s", ans.status, ans.body)
		}
	})
	t.Run("new objects on the restored server", func(t *testing.T) {
		kb := dialKMIP(t, b.KMIPAddr, a.AdminTLS)
		id := kb.must(aesKey("on-b")).(*payloads.CreateResponsePayload).UniqueIdentifier
		if len(getSymmetric(t, kb, id)) != 32 {
			t.Fatal("bad key on the restored server")
		}
	})
}

// TestBackupRouteRefusals: only the admin role may take a backup, and a
// short passphrase is refused before anything is streamed.
func TestBackupRouteRefusals(t *testing.T) {
	env := testenv.Start(t)
	operator := env.IssueClient(t, "ops", pki.RoleOperator)
	for _, tc := range []struct {
		name string
		body string
		as   string
		want int
	}{
		{"operator refused", `{"passphrase":"long enough passphrase"}`, "operator", http.StatusForbidden},
		{"short passphrase", `{"passphrase":"short"}`, "admin", http.StatusBadRequest},
		{"unknown field", `{"passphrase":"long enough passphrase","x":1}`, "admin", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := env.AdminTLS
			if tc.as == "operator" {
				conf = operator
			}
			ans := adminCall(t, env, conf, "POST", "/v1/backup", tc.body)
			if ans.status != tc.want {
				t.Fatalf("status %d (%s), want %d", ans.status, ans.body, tc.want)
			}
		})
	}
	t.Run("admin gets a backup that verifies", func(t *testing.T) {
		ans := adminCall(t, env, env.AdminTLS, "POST", "/v1/backup", `{"passphrase":"long enough passphrase"}`)
		if ans.status != http.StatusOK {
			t.Fatalf("status %d (%s)", ans.status, ans.body)
		}
		if _, err := backup.Verify(bytes.NewReader(ans.body), []byte("long enough passphrase")); err != nil {
			t.Fatalf("verify: %v", err)
		}
	})
}
