package keygroups

import (
	"context"
	"errors"

	"github.com/keywarden/keywarden/internal/keys"
)

// ErrRefused: a key group key that the caller's Gate refused to serve (for
// example a key not yet in a backup, server.Config.RequireBackup). The
// error also wraps the gate's own error.
var ErrRefused = errors.New("keygroups: key refused by the serve gate")

// Gate says whether a key group key may be served: nil serves it, an
// error refuses it. It sees the key's managed object, never asks for its
// material, and is consulted only for a key that could otherwise be
// served (active, with AES-256 material), before the key is marked served.
type Gate func(o *keys.Object) error

// NextGated is Next serving only keys that gate accepts: the round robin
// skips a refused key as it skips a destroyed one. When the group has
// keys but gate refused every usable one, the error wraps ErrRefused and
// the gate's error for the first key refused. A nil gate accepts every
// key.
func (s *Service) NextGated(ctx context.Context, group string, gate Gate) (alias, keyID string, key []byte, err error) {
	return s.pick(ctx, group, gate)
}

// ByAliasGated is ByAlias serving the key only when gate accepts it; a
// refusal wraps ErrRefused and the gate's error. A nil gate accepts every
// key.
func (s *Service) ByAliasGated(ctx context.Context, alias string, gate Gate) ([]byte, error) {
	return s.byAlias(ctx, alias, gate)
}
