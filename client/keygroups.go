package client

import (
	"context"
	"net/http"
)

// KeyGroupKey is one key of an LTO key group, without its material.
type KeyGroupKey struct {
	// Alias is the key's name, the key identifier written on the tape.
	Alias string `json:"alias"`
	// ObjectID is the managed object's Unique Identifier.
	ObjectID string `json:"object_id"`
	// State is the KMIP state, e.g. "Active" or "Destroyed".
	State string `json:"state"`
}

// KeyGroup is an LTO key group: pre-generated AES-256 keys by alias.
type KeyGroup struct {
	Name string        `json:"name"`
	Keys []KeyGroupKey `json:"keys"`
}

// KeyGroupSpec describes a key group to create.
type KeyGroupSpec struct {
	Name string `json:"name"`
	// Aliases is a symmetricKeySet alias set, e.g. "des01-1f".
	Aliases string `json:"aliases"`
}

// KeyGroups lists the LTO key groups.
func (c *Client) KeyGroups(ctx context.Context) ([]KeyGroup, error) {
	var out []KeyGroup
	if err := c.do(ctx, http.MethodGet, "/v1/keygroups", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// KeyGroup returns the key group named name.
func (c *Client) KeyGroup(ctx context.Context, name string) (*KeyGroup, error) {
	var g KeyGroup
	if err := c.do(ctx, http.MethodGet, "/v1/keygroups/"+seg(name), nil, nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// CreateKeyGroup creates a key group and all its keys (admin only) and
// returns it.
func (c *Client) CreateKeyGroup(ctx context.Context, spec KeyGroupSpec) (*KeyGroup, error) {
	var g KeyGroup
	if err := c.do(ctx, http.MethodPost, "/v1/keygroups", nil, spec, &g); err != nil {
		return nil, err
	}
	return &g, nil
}
