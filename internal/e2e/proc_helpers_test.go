package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
	"github.com/ovh/kmip-go/ttlv"

	"github.com/keywarden/keywarden/client"
	"github.com/keywarden/keywarden/internal/conformance"
	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
)

// procServer is a `keywarden serve` running as a separate process, so that
// a test can end it with SIGKILL as a crash would.
type procServer struct {
	bin, dir string
	args     []string // flags after the listener flags, e.g. the cluster flags

	cmd    *exec.Cmd
	exited chan struct{}
	kmip   string
	device string
	admin  string
	clust  string

	logMu sync.Mutex
	log   strings.Builder // the process's stderr, shown when a test fails
}

// start runs the server and waits until it prints "keywarden ready".
func (p *procServer) start(t *testing.T) {
	t.Helper()
	args := append([]string{"serve", "--data-dir", p.dir, "--log-level", "warn",
		"--kmip-addr", "127.0.0.1:0", "--device-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"}, p.args...)
	cmd := exec.Command(p.bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.dir, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func() {
		_, _ = io.Copy(logWriter{p}, stderr)
	}()
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent {
				p.logMu.Lock()
				p.log.WriteString(line + "\n")
				p.logMu.Unlock()
			}
			for prefix, dst := range map[string]*string{"kmip listening on ": &p.kmip, "device listening on ": &p.device,
				"admin listening on ": &p.admin, "cluster listening on ": &p.clust} {
				if rest, ok := strings.CutPrefix(line, prefix); ok && !sent {
					*dst = rest
				}
			}
			if line == "keywarden ready" && !sent {
				ready <- nil
				sent = true
			}
		}
		if !sent {
			ready <- fmt.Errorf("exited before ready")
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatalf("serve %s: %v\n%s", p.dir, err, p.output())
		}
	case <-time.After(60 * time.Second):
		p.kill(t)
		t.Fatalf("serve %s: not ready after 60s\n%s", p.dir, p.output())
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output of the server in %s:\n%s", p.dir, p.output())
		}
		p.stop(t)
	})
}

// logWriter appends to a procServer's log.
type logWriter struct{ p *procServer }

func (w logWriter) Write(b []byte) (int, error) {
	w.p.logMu.Lock()
	defer w.p.logMu.Unlock()
	if w.p.log.Len() < 1<<20 {
		w.p.log.Write(b)
	}
	return len(b), nil
}

func (p *procServer) output() string {
	p.logMu.Lock()
	defer p.logMu.Unlock()
	return p.log.String()
}

// running reports whether the process has been started and not ended.
func (p *procServer) running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends the process with SIGKILL and waits for it to be gone.
func (p *procServer) kill(t *testing.T) {
	t.Helper()
	if !p.running() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("kill %s: %v", p.dir, err)
	}
	<-p.exited
}

// stop ends the process with SIGTERM (SIGKILL after 20 seconds).
func (p *procServer) stop(t *testing.T) {
	t.Helper()
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Errorf("%s did not stop on SIGTERM; killing it", p.dir)
		p.kill(t)
	}
}

// api returns an admin API client of the server, as the administrator
// of the data directory dir.
func (p *procServer) api(t *testing.T, dir string) *client.Client {
	t.Helper()
	paths := pki.PathsFor(dir)
	c, err := client.New(client.Config{Addr: p.admin, CACert: paths.CACert, ClientCert: paths.AdminCert,
		ClientKey: paths.AdminKey, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// kmipConn is a KMIP connection for load goroutines: unlike kmipClient it
// never calls t.Fatal and reports every failure as an error.
type kmipConn struct{ conn conformance.Conn }

func dialKMIPConn(addr string, conf *tls.Config) (*kmipConn, error) {
	c, err := conformance.DialTLS(addr, conf)
	if err != nil {
		return nil, err
	}
	return &kmipConn{conn: c}, nil
}

func (c *kmipConn) close() { _ = c.conn.Close() }

// do sends one operation and returns its payload, or an error for a
// broken connection or a KMIP failure (a *kmipFailure).
func (c *kmipConn) do(pl kmip.OperationPayload) (kmip.OperationPayload, error) {
	msg := kmip.NewRequestMessage(kmip.V1_4, pl)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	raw, err := c.conn.RoundTrip(ctx, ttlv.MarshalTTLV(&msg))
	if err != nil {
		return nil, err
	}
	var resp kmip.ResponseMessage
	if err := ttlv.UnmarshalTTLV(raw, &resp); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	if len(resp.BatchItem) != 1 {
		return nil, fmt.Errorf("got %d batch items", len(resp.BatchItem))
	}
	it := resp.BatchItem[0]
	if it.ResultStatus != kmip.ResultStatusSuccess {
		return nil, &kmipFailure{reason: ttlv.EnumStr(it.ResultReason), msg: it.ResultMessage}
	}
	return it.ResponsePayload, nil
}

// create creates an AES key and returns its id.
func (c *kmipConn) create(name string) (string, error) {
	pl, err := c.do(aesKey(name))
	if err != nil {
		return "", err
	}
	return pl.(*payloads.CreateResponsePayload).UniqueIdentifier, nil
}

// getMaterial returns the TTLV encoding of object id.
func (c *kmipConn) getMaterial(id string) ([]byte, error) {
	pl, err := c.do(&payloads.GetRequestPayload{UniqueIdentifier: id})
	if err != nil {
		return nil, err
	}
	return ttlv.MarshalTTLV(pl.(*payloads.GetResponsePayload).Object), nil
}

// initDir runs `keywarden init` into a new temporary directory.
func initDir(t *testing.T, bin string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(bin, "init", "--data-dir", dir).CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	return dir
}

// cloneNodeDir copies an initialised directory for another cluster node,
// without the audit trail (each node keeps its own chain).
func cloneNodeDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	testenv.CopyDir(t, src, dst)
	if err := os.RemoveAll(dst + "/audit"); err != nil {
		t.Fatal(err)
	}
	return dst
}
