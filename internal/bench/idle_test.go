package bench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keywarden/keywarden/internal/pki"
)

// idleConns is the number of idle connections BenchmarkIdleConnMemory holds.
const idleConns = 500

// Environment of the idle-client child process (see TestMain).
const (
	envIdleChild = "KEYWARDEN_BENCH_IDLE_CHILD" // "1" makes the test binary an idle client
	envIdleAddr  = "KEYWARDEN_BENCH_IDLE_ADDR"
	envIdleCA    = "KEYWARDEN_BENCH_IDLE_CA"
	envIdleCert  = "KEYWARDEN_BENCH_IDLE_CERT"
	envIdleKey   = "KEYWARDEN_BENCH_IDLE_KEY"
	envIdleID    = "KEYWARDEN_BENCH_IDLE_ID"
	envIdleN     = "KEYWARDEN_BENCH_IDLE_N"
)

// idleChildLifetime bounds how long an idle-client child lives even if its
// parent never closes its standard input.
const idleChildLifetime = 5 * time.Minute

// TestMain turns the test binary into an idle client when envIdleChild is
// set: BenchmarkIdleConnMemory runs its client connections in another
// process so that only the server's memory is measured in this one.
func TestMain(m *testing.M) {
	if os.Getenv(envIdleChild) == "1" {
		os.Exit(runIdleChild())
	}
	os.Exit(m.Run())
}

// runIdleChild opens N connections to the KMIP listener, sends one Get on
// each and checks the answer, prints "ready", and holds the connections
// until its standard input closes (or idleChildLifetime passes).
func runIdleChild() int {
	n, err := strconv.Atoi(os.Getenv(envIdleN))
	if err != nil || n <= 0 {
		fmt.Printf("error: bad %s\n", envIdleN)
		return 2
	}
	conf, err := pki.ClientTLS(os.Getenv(envIdleCA), os.Getenv(envIdleCert), os.Getenv(envIdleKey))
	if err != nil {
		fmt.Printf("error: %v\n", err)
		return 2
	}
	conf.MinVersion = tls.VersionTLS13
	conf.ServerName = "127.0.0.1"
	addr, id := os.Getenv(envIdleAddr), os.Getenv(envIdleID)
	req := encodeGet(id)

	conns := make([]*kmipConn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	const dialers = 4
	for d := range dialers {
		wg.Go(func() {
			for i := d; i < n; i += dialers {
				c, err := dialKMIP(addr, conf)
				if err != nil {
					errs[i] = err
					return
				}
				conns[i] = c
				resp, err := c.roundTrip(req)
				if err == nil {
					err = checkGet(resp, id)
				}
				if err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Printf("error: %v\n", strings.ReplaceAll(err.Error(), "\n", "; "))
		return 1
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(idleChildLifetime):
	}
	for _, c := range conns {
		c.close()
	}
	return 0
}

// idleResult is the server-side cost of one round of idle connections.
type idleResult struct {
	heapPerConn, stackPerConn, goroutinesPerConn float64
}

// memSnapshot returns the live heap and goroutine stack bytes after two
// garbage collections.
func memSnapshot() (heap, stack int64) {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc), int64(ms.StackInuse)
}

// waitGoroutines polls until cond holds for runtime.NumGoroutine(), for at
// most timeout.
func waitGoroutines(cond func(int) bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !cond(runtime.NumGoroutine()) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// measureIdle has a child process open n authenticated connections to f's
// server (one Get on each, so each is fully set up) and hold them idle,
// and returns the growth of this process's heap and stacks per connection.
func measureIdle(tb testing.TB, f *getFixture, n int) (idleResult, error) {
	tb.Helper()
	g0 := runtime.NumGoroutine()
	heap0, stack0 := memSnapshot()

	p := pki.PathsFor(f.env.DataDir)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envIdleChild+"=1", envIdleAddr+"="+f.env.KMIPAddr,
		envIdleCA+"="+p.CACert, envIdleCert+"="+p.AdminCert, envIdleKey+"="+p.AdminKey,
		envIdleID+"="+f.id, envIdleN+"="+strconv.Itoa(n))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return idleResult{}, fmt.Errorf("bench: idle child stdin: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return idleResult{}, fmt.Errorf("bench: idle child stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return idleResult{}, fmt.Errorf("bench: start idle child: %w", err)
	}
	exited := make(chan error, 1)
	stop := func() error {
		_ = stdin.Close()
		select {
		case err := <-exited:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return fmt.Errorf("bench: idle child did not exit: %w", <-exited)
		}
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()

	var line string
	select {
	case line = <-lines:
	case <-time.After(2 * time.Minute):
		line = "error: timed out opening connections"
	}
	if line != "ready" {
		err := stop()
		return idleResult{}, fmt.Errorf("bench: idle child: %q (exit: %v, stderr: %s)", line, err, stderr.String())
	}
	// Each served connection holds at least one goroutine here; wait for
	// them all, then let the last responses' writes settle.
	if !waitGoroutines(func(g int) bool { return g >= g0+n }, 30*time.Second) {
		_ = stop()
		return idleResult{}, fmt.Errorf("bench: %d goroutines for %d connections (baseline %d)", runtime.NumGoroutine(), n, g0)
	}
	time.Sleep(200 * time.Millisecond)
	heap1, stack1 := memSnapshot()
	g1 := runtime.NumGoroutine()
	if err := stop(); err != nil {
		return idleResult{}, fmt.Errorf("bench: idle child: %w (stderr: %s)", err, stderr.String())
	}
	// The server notices the closed connections asynchronously: wait for
	// its goroutines to end so that the next round starts from a clean
	// baseline.
	waitGoroutines(func(g int) bool { return g <= g0+2 }, 30*time.Second)
	return idleResult{
		heapPerConn:       float64(heap1-heap0) / float64(n),
		stackPerConn:      float64(stack1-stack0) / float64(n),
		goroutinesPerConn: float64(g1-g0) / float64(n),
	}, nil
}

// BenchmarkIdleConnMemory measures the server's memory per idle
// authenticated connection: a child process opens idleConns connections,
// sends one Get on each and holds them; the heap and stack growth of this
// process, where the server runs, is divided by idleConns. One operation is
// one such round; ns/op is suppressed as meaningless, and the reported
// figures are the medians over the rounds.
func BenchmarkIdleConnMemory(b *testing.B) {
	f := newGetFixture(b)
	var heap, stack, gor []float64
	for b.Loop() {
		r, err := measureIdle(b, f, idleConns)
		if err != nil {
			b.Fatal(err)
		}
		heap = append(heap, r.heapPerConn)
		stack = append(stack, r.stackPerConn)
		gor = append(gor, r.goroutinesPerConn)
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(median(heap), "heap-B/conn")
	b.ReportMetric(median(stack), "stack-B/conn")
	b.ReportMetric(median(heap)+median(stack), "B/conn")
	b.ReportMetric(median(gor), "goroutines/conn")
	b.ReportMetric(idleConns, "conns")
}

// median returns the median of xs (0 if empty).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
