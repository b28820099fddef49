package client_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/keywarden/keywarden/client"
)

// deadAddr is an address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "https://" + addr
}

// silentAddr accepts connections and never answers.
func silentAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return "https://" + ln.Addr().String()
}

// TestReadFailover: reads go on to the next address of Config.Addrs when
// a server is down or silent, within a bounded time; writes go to Addr
// only and are never sent to another server.
func TestReadFailover(t *testing.T) {
	live := client.ConfigFromEnv()
	tests := []struct {
		name  string
		first string
	}{
		{"first server down", deadAddr(t)},
		{"first server silent", silentAddr(t)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := live
			cfg.Addr, cfg.Addrs, cfg.Timeout = tc.first, []string{live.Addr}, time.Second
			c, err := client.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if _, err := c.Groups(context.Background()); err != nil {
				t.Fatalf("read with failover: %v", err)
			}
			took := time.Since(start)
			t.Logf("read answered by the second server after %v", took.Round(time.Millisecond))
			if took > 3*time.Second {
				t.Errorf("failover took %v with a 1s timeout", took)
			}
			name := fmt.Sprintf("failover-write-%d", i)
			if _, err := c.CreateGroup(context.Background(), client.GroupSpec{Name: name, Family: "GENERIC"}); err == nil {
				t.Fatal("a write was sent past the first server")
			}
			if _, err := newClient(t).Group(context.Background(), name); client.StatusOf(err) != 404 {
				t.Fatalf("the write reached the live server: %v", err)
			}
		})
	}
	t.Run("no server answers", func(t *testing.T) {
		cfg := live
		cfg.Addr, cfg.Addrs, cfg.Timeout = deadAddr(t), []string{deadAddr(t)}, time.Second
		c, err := client.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Groups(context.Background()); err == nil {
			t.Fatal("read succeeded with no server")
		}
	})
	t.Run("bad address in Addrs", func(t *testing.T) {
		cfg := live
		cfg.Addrs = []string{"http://127.0.0.1:1"}
		if _, err := client.New(cfg); err == nil {
			t.Fatal("New accepted an http address")
		}
	})
}
