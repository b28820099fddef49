package library

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/pki"
	"github.com/keywarden/keywarden/internal/testenv"
	"github.com/keywarden/keywarden/internal/usage"
)

func newClient(t *testing.T, conf *tls.Config, timeout time.Duration, servers ...string) *Client {
	t.Helper()
	c, err := New(Config{Servers: servers, TLS: conf, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// deadAddr is an address on which nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

var hexID = regexp.MustCompile(`^[0-9A-F]{24}$`)

func TestWriteThenRead(t *testing.T) {
	env := testenv.Start(t)
	ctx := ctxT(t)
	c := newClient(t, env.AdminTLS, 0, env.KMIPAddr)

	w, err := c.CreateKey(ctx, "LIB001L8")
	if err != nil {
		t.Fatal(err)
	}
	if !hexID.MatchString(w.KeyID) || w.UniqueIdentifier == "" || len(w.Material) != KeySize {
		t.Fatalf("write: key ID %q, object %q, %d bytes of key", w.KeyID, w.UniqueIdentifier, len(w.Material))
	}
	other, err := c.CreateKey(ctx, "LIB002L8")
	if err != nil {
		t.Fatal(err)
	}
	if other.KeyID == w.KeyID || bytes.Equal(other.Material, w.Material) {
		t.Fatal("two cartridges got the same key identifier or key")
	}

	for _, id := range []string{w.KeyID, strings.ToLower(w.KeyID)} {
		r, err := c.FetchKey(ctx, id)
		if err != nil {
			t.Fatalf("read %s: %v", id, err)
		}
		if r.UniqueIdentifier != w.UniqueIdentifier || !bytes.Equal(r.Material, w.Material) || r.KeyID != w.KeyID {
			t.Fatalf("read %s found object %s, want %s with the same key", id, r.UniqueIdentifier, w.UniqueIdentifier)
		}
	}

	// The profile's flow is in the usage log under the barcode's volser.
	recs, err := env.Server.Usage().Query(ctx, usage.Query{Volser: "LIB001"})
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, r := range recs {
		if r.KeyID != w.UniqueIdentifier || r.Protocol != usage.ProtocolKMIP {
			t.Fatalf("usage record %+v, want object %s over KMIP", r, w.UniqueIdentifier)
		}
		ops = append(ops, r.Operation)
	}
	if strings.Join(ops, ",") != "Create,Get,Get,Get" {
		t.Fatalf("usage records for LIB001: %q, want Create then three Gets", ops)
	}

	// The key is an active AES-256 key.
	var state kmip.State
	err = c.failover(ctx, func(s *session, _ bool) error {
		st, err := s.state(w.UniqueIdentifier)
		state = st
		return err
	})
	if err != nil || state != kmip.StateActive {
		t.Fatalf("state %v, %v; want Active", state, err)
	}
}

func TestReadRefusals(t *testing.T) {
	env := testenv.Start(t)
	ctx := ctxT(t)
	c := newClient(t, env.AdminTLS, 0, env.KMIPAddr)
	stranger := newClient(t, env.IssueClient(t, "stranger", pki.RoleClient), 0, env.KMIPAddr)
	unknown, err := NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		c     *Client
		keyID string
		want  error
	}{
		{"unknown key identifier", c, unknown, ErrNoKey},
		{"odd length", c, "ABC", ErrKeyID},
		{"not hexadecimal", c, "ZZZZ", ErrKeyID},
		{"empty", c, "", ErrKeyID},
		{"too long", c, strings.Repeat("AB", MaxKeyIDSize+1), ErrKeyID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := tc.c.FetchKey(ctx, tc.keyID)
			if !errors.Is(err, tc.want) || k.Material != nil {
				t.Fatalf("FetchKey(%q) = %d bytes, %v; want %v", tc.keyID, len(k.Material), err, tc.want)
			}
		})
	}
	t.Run("client not in the device table", func(t *testing.T) {
		_, err := stranger.CreateKey(ctx, "LIB009L8")
		var ke *Error
		if !errors.As(err, &ke) || ke.Operation != "Create" || ke.Reason != "AuthenticationNotSuccessful" {
			t.Fatalf("CreateKey as a stranger: %v; want a refused Create", err)
		}
		t.Logf("refusal: %v", err)
	})
	t.Run("bad barcode", func(t *testing.T) {
		for _, b := range []string{"", "A B", strings.Repeat("A", 65), "VOL\x00"} {
			if _, err := c.CreateKey(ctx, b); err == nil || !strings.Contains(err.Error(), "barcode") {
				t.Fatalf("CreateKey(%q): %v; want a barcode error", b, err)
			}
		}
	})
}

func TestConfig(t *testing.T) {
	conf := &tls.Config{Certificates: []tls.Certificate{{}}}
	tests := []struct {
		name    string
		servers []string
		conf    *tls.Config
		want    []string // normalised addresses; nil means an error
	}{
		{"host and port", []string{"kms.example:7000"}, conf, []string{"kms.example:7000"}},
		{"default port", []string{"kms.example", "10.0.0.1"}, conf, []string{"kms.example:5696", "10.0.0.1:5696"}},
		{"IPv6 without port", []string{"::1", "[::1]"}, conf, []string{"[::1]:5696", "[::1]:5696"}},
		{"no server", nil, conf, nil},
		{"empty server", []string{" "}, conf, nil},
		{"garbage", []string{"a:b:c"}, conf, nil},
		{"no client certificate", []string{"kms.example"}, &tls.Config{}, nil},
		{"no TLS", []string{"kms.example"}, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(Config{Servers: tc.servers, TLS: tc.conf})
			if tc.want == nil {
				if err == nil {
					t.Fatalf("New accepted %q", tc.servers)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(c.servers, ",") != strings.Join(tc.want, ",") || c.tls.MinVersion < tls.VersionTLS12 || c.timeout != DefaultTimeout {
				t.Fatalf("servers %q, TLS min %x, timeout %v", c.servers, c.tls.MinVersion, c.timeout)
			}
		})
	}
}

func TestNormalizeKeyID(t *testing.T) {
	id, err := NewKeyID()
	if err != nil {
		t.Fatal(err)
	}
	if !hexID.MatchString(id) {
		t.Fatalf("NewKeyID = %q", id)
	}
	got, err := NormalizeKeyID(strings.ToLower(id))
	if err != nil || got != id {
		t.Fatalf("NormalizeKeyID(lower) = %q, %v", got, err)
	}
}
