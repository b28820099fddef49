package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Status returns the server's version, uptime, listeners, table sizes and
// certificate expiry.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, "/v1/status", nil, nil, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Health checks that the server answers (GET /healthz).
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/healthz", nil, nil, nil)
}

// Ready checks that the server serves: store open, listeners bound
// (GET /readyz).
func (c *Client) Ready(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/readyz", nil, nil, nil)
}

// Metrics returns the Prometheus metrics, in the text exposition format.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, "/metrics", nil, nil, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// Groups lists the device groups.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	var out []Group
	if err := c.do(ctx, http.MethodGet, "/v1/groups", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Group returns the group named name.
func (c *Client) Group(ctx context.Context, name string) (*Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodGet, "/v1/groups/"+seg(name), nil, nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// CreateGroup creates a device group and returns it.
func (c *Client) CreateGroup(ctx context.Context, spec GroupSpec) (*Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodPost, "/v1/groups", nil, spec, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// ModifyGroup changes a group and returns it.
func (c *Client) ModifyGroup(ctx context.Context, name string, ch GroupChanges) (*Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodPatch, "/v1/groups/"+seg(name), nil, ch, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// DeleteGroup deletes a group that has no devices.
func (c *Client) DeleteGroup(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/v1/groups/"+seg(name), nil, nil, nil)
}

// ScheduleRollover schedules a rollover of a group's default labels and/or
// key group at ro.At (a time past takes effect at once; ro.Scheduled is
// ignored) and returns the group as it now stands. The group "default"
// holds the server-wide defaults.
func (c *Client) ScheduleRollover(ctx context.Context, group string, ro Rollover) (*Group, error) {
	in := struct {
		At       time.Time `json:"at"`
		Alias1   string    `json:"alias1,omitempty"`
		Alias2   string    `json:"alias2,omitempty"`
		KeyGroup string    `json:"key_group,omitempty"`
	}{ro.At, ro.Alias1, ro.Alias2, ro.KeyGroup}
	var g Group
	if err := c.do(ctx, http.MethodPost, "/v1/groups/"+seg(group)+"/rollover", nil, in, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// CancelRollover cancels the rollover a group has scheduled at at and
// returns the group.
func (c *Client) CancelRollover(ctx context.Context, group string, at time.Time) (*Group, error) {
	q := url.Values{"at": {at.UTC().Format(time.RFC3339)}}
	var g Group
	if err := c.do(ctx, http.MethodDelete, "/v1/groups/"+seg(group)+"/rollover", q, nil, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// Devices lists the devices f selects.
func (c *Client) Devices(ctx context.Context, f DeviceFilter) ([]Device, error) {
	q := url.Values{}
	for k, v := range map[string]string{"group": f.Group, "family": f.Family, "state": f.State, "serial": f.Serial} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out []Device
	if err := c.do(ctx, http.MethodGet, "/v1/devices", q, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Device returns the device with id.
func (c *Client) Device(ctx context.Context, id string) (*Device, error) {
	var d Device
	if err := c.do(ctx, http.MethodGet, "/v1/devices/"+seg(id), nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// AddDevice adds a device to the device table and returns it with its id.
func (c *Client) AddDevice(ctx context.Context, spec DeviceSpec) (*Device, error) {
	var d Device
	if err := c.do(ctx, http.MethodPost, "/v1/devices", nil, spec, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// ModifyDevice changes a device and returns it.
func (c *Client) ModifyDevice(ctx context.Context, id string, ch DeviceChanges) (*Device, error) {
	var d Device
	if err := c.do(ctx, http.MethodPatch, "/v1/devices/"+seg(id), nil, ch, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DeleteDevice removes a device from the device table.
func (c *Client) DeleteDevice(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/devices/"+seg(id), nil, nil, nil)
}

// ApproveDevice makes a pending device active and returns it.
func (c *Client) ApproveDevice(ctx context.Context, id string) (*Device, error) {
	var d Device
	if err := c.do(ctx, http.MethodPost, "/v1/devices/"+seg(id)+"/approve", nil, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// RejectDevice refuses a pending device.
func (c *Client) RejectDevice(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, "/v1/devices/"+seg(id)+"/reject", nil, nil, nil)
}

// Pending lists the devices waiting for approval and the client
// certificates waiting to be accepted.
func (c *Client) Pending(ctx context.Context) (*Pending, error) {
	var p Pending
	if err := c.do(ctx, http.MethodGet, "/v1/pending", nil, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// AcceptCert accepts a pending client certificate into group and returns
// the device it now identifies.
func (c *Client) AcceptCert(ctx context.Context, fingerprint, group string) (*Device, error) {
	var d Device
	body := struct {
		Group string `json:"group"`
	}{group}
	if err := c.do(ctx, http.MethodPost, "/v1/pending/certs/"+seg(fingerprint)+"/accept", nil, body, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// RejectCert refuses a pending client certificate.
func (c *Client) RejectCert(ctx context.Context, fingerprint string) error {
	return c.do(ctx, http.MethodPost, "/v1/pending/certs/"+seg(fingerprint)+"/reject", nil, nil, nil)
}

// Keys lists key metadata; total is the number of matches before paging.
func (c *Client) Keys(ctx context.Context, f KeyFilter) (keys []Key, total int, err error) {
	q := url.Values{}
	for k, v := range map[string]string{"group": f.Group, "type": f.Type, "state": f.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Offset > 0 {
		q.Set("offset", strconv.Itoa(f.Offset))
	}
	h, err := c.doHeader(ctx, http.MethodGet, "/v1/keys", q, nil, &keys)
	if err != nil {
		return nil, 0, err
	}
	total, err = strconv.Atoi(h.Get("X-Total-Count"))
	if err != nil {
		total = len(keys)
	}
	return keys, total, nil
}

// Key returns a managed object's metadata and attributes.
func (c *Client) Key(ctx context.Context, id string) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodGet, "/v1/keys/"+seg(id), nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// DestroyKey destroys a managed object's key material (administrators
// only); its metadata stays, in state Destroyed.
func (c *Client) DestroyKey(ctx context.Context, id string) (*Key, error) {
	var k Key
	if err := c.do(ctx, http.MethodPost, "/v1/keys/"+seg(id)+"/destroy", nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// RevokedCerts lists the revoked certificates.
func (c *Client) RevokedCerts(ctx context.Context) ([]RevokedCert, error) {
	var out []RevokedCert
	if err := c.do(ctx, http.MethodGet, "/v1/certs", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeCert revokes a certificate on every listener (administrators
// only).
func (c *Client) RevokeCert(ctx context.Context, r Revocation) (*RevokedCert, error) {
	var rc RevokedCert
	if err := c.do(ctx, http.MethodPost, "/v1/certs/revoke", nil, r, &rc); err != nil {
		return nil, err
	}
	return &rc, nil
}

// IssueCert has the server's CA issue a client certificate named name
// with role (admin, operator, auditor, ...) and returns it with its
// private key (administrators only).
func (c *Client) IssueCert(ctx context.Context, name, role string) (*IssuedCert, error) {
	var ic IssuedCert
	body := struct {
		Name string `json:"name"`
		Role string `json:"role"`
	}{name, role}
	if err := c.do(ctx, http.MethodPost, "/v1/certs/issue", nil, body, &ic); err != nil {
		return nil, err
	}
	return &ic, nil
}
