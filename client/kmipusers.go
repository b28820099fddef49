package client

import (
	"context"
	"net/http"
	"time"
)

// KMIPUser is a user a KMIP client names in the Username and Password
// credential of its request headers. The server keeps only an Argon2id
// hash of its password and never returns it.
type KMIPUser struct {
	Name string `json:"name"`
	// Group is the device group of the user's objects.
	Group   string    `json:"group"`
	Created time.Time `json:"created"`
}

// KMIPUserSpec describes a KMIP user to add.
type KMIPUserSpec struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// Group is the device group of the user's objects; "default" when
	// empty.
	Group string `json:"group,omitempty"`
}

// KMIPUsers lists the KMIP users by name.
func (c *Client) KMIPUsers(ctx context.Context) ([]KMIPUser, error) {
	var out []KMIPUser
	if err := c.do(ctx, http.MethodGet, "/v1/kmip-users", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddKMIPUser adds a KMIP user (admin only) and returns it.
func (c *Client) AddKMIPUser(ctx context.Context, spec KMIPUserSpec) (*KMIPUser, error) {
	var u KMIPUser
	if err := c.do(ctx, http.MethodPost, "/v1/kmip-users", nil, spec, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// RemoveKMIPUser removes the KMIP user named name (admin only). Its
// objects stay.
func (c *Client) RemoveKMIPUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/kmip-users/"+seg(name), nil, nil, nil)
}
