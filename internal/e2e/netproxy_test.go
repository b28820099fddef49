package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// partitionNet is a set of TCP proxies, one in front of each cluster
// node's listener, that the test can make drop traffic between chosen
// nodes. Each node dials from its own loopback address
// (ClusterConfig.SourceAddr), so a proxy knows which node a connection
// comes from by its source IP.
type partitionNet struct {
	t       *testing.T
	sources map[string]int // source IP → node index

	mu    sync.Mutex
	cut   map[[2]int]bool // {from, to} pairs whose traffic is dropped
	conns map[*proxyConn]struct{}
}

// proxyConn is one proxied connection from node from to node to.
type proxyConn struct {
	from, to     int
	client, node net.Conn
}

func newPartitionNet(t *testing.T, sources []string) *partitionNet {
	p := &partitionNet{t: t, sources: map[string]int{}, cut: map[[2]int]bool{}, conns: map[*proxyConn]struct{}{}}
	for i, ip := range sources {
		p.sources[ip] = i
	}
	return p
}

// proxy listens in front of node to, forwarding to target, and returns the
// address to advertise for it.
func (p *partitionNet) proxy(to int, target string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c, to, target)
		}
	}()
	return ln.Addr().String()
}

func (p *partitionNet) serve(c net.Conn, to int, target string) {
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	from, known := p.sources[host]
	if !known {
		from = -1
	}
	p.mu.Lock()
	dropped := p.cut[[2]int{from, to}]
	p.mu.Unlock()
	if dropped {
		c.Close()
		return
	}
	n, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	pc := &proxyConn{from: from, to: to, client: c, node: n}
	p.mu.Lock()
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(n, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, n); done <- struct{}{} }()
	<-done
	c.Close()
	n.Close()
	p.mu.Lock()
	delete(p.conns, pc)
	p.mu.Unlock()
}

// isolate drops every connection between node i and the others, both
// ways, open ones included, until heal.
func (p *partitionNet) isolate(i, nodes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for j := range nodes {
		if j != i {
			p.cut[[2]int{i, j}] = true
			p.cut[[2]int{j, i}] = true
		}
	}
	for pc := range p.conns {
		if p.cut[[2]int{pc.from, pc.to}] {
			pc.client.Close()
			pc.node.Close()
		}
	}
}

// heal lets all traffic through again.
func (p *partitionNet) heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = map[[2]int]bool{}
}

// TestPartitionNetCuts checks the proxy itself: an isolated source's
// connections are dropped, both ways, and others pass.
func TestPartitionNetCuts(t *testing.T) {
	freePort(t, "127.0.0.2") // skips on a host without it
	freePort(t, "127.0.0.3")
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	p := newPartitionNet(t, []string{"127.0.0.2", "127.0.0.3"})
	to0 := p.proxy(0, echo.Addr().String())
	to1 := p.proxy(1, echo.Addr().String())
	passes := func(from, addr string) bool {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		if _, err := c.Write([]byte("x")); err != nil {
			return false
		}
		b := make([]byte, 1)
		_, err = io.ReadFull(c, b)
		return err == nil
	}
	p.isolate(0, 2)
	tests := []struct {
		name, from, to string
		want           bool
	}{
		{"isolated node out", "127.0.0.2", to1, false},
		{"into the isolated node", "127.0.0.3", to0, false},
		{"unknown source into the isolated node", "127.0.0.1", to0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := passes(tc.from, tc.to); got != tc.want {
				t.Fatalf("traffic passes: %v; want %v", got, tc.want)
			}
		})
	}
	p.heal()
	if !passes("127.0.0.2", to1) {
		t.Fatal("traffic dropped after heal")
	}
}
