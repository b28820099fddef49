package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/keywarden/keywarden/internal/devices"
	"github.com/keywarden/keywarden/internal/keys"
)

func TestProblemFor(t *testing.T) {
	secret := "/var/lib/keywarden/keywarden.db: input/output error"
	tests := []struct {
		name     string
		err      error
		status   int
		slug     string
		detail   string // the whole detail
		internal bool
	}{
		{"devices error shown whole", fmt.Errorf("admin: x: %w", devices.ErrGroupInUse), 409, "group-in-use",
			"admin: x: devices: group still has devices", false},
		{"keys error shows only the sentinel", fmt.Errorf("keys: get %q in %s: %w", "id-1", secret, keys.ErrNotFound), 404, "not-found",
			"keys: object not found", false},
		{"keys corruption is a server error", fmt.Errorf("keys: %s: %w", secret, keys.ErrCorrupted), 500, "corrupted",
			"keys: stored record is corrupted", true},
		{"plain error hidden", errors.New(secret), 500, "internal",
			"the server could not complete the request; the cause is in its log", true},
		{"timeout", fmt.Errorf("devices: put: %w", context.DeadlineExceeded), 503, "timeout", "context deadline exceeded", true},
		{"body too large", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}), 413, "too-large",
			"the request body is larger than this route's limit of 10 bytes", false},
		{"request error", badRequest("limit %q: bad", "x"), 400, "invalid", `limit "x": bad`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, internal := problemFor(tt.err)
			if p.Status != tt.status || p.Type != problemTypePrefix+tt.slug || p.Detail != tt.detail || internal != tt.internal {
				t.Fatalf("problemFor = %+v internal=%v, want %d %s %q internal=%v", p, internal, tt.status, tt.slug, tt.detail, tt.internal)
			}
			if strings.Contains(p.Detail, secret) || strings.Contains(p.Title, secret) {
				t.Fatalf("internal text leaked: %+v", p)
			}
		})
	}
}

func TestErrorTableCoversTheSentinels(t *testing.T) {
	sentinels := []error{
		devices.ErrNotFound, devices.ErrExists, devices.ErrInvalid, devices.ErrGroupInUse, devices.ErrRevoked,
		devices.ErrPending, devices.ErrRejected, devices.ErrDisabled, devices.ErrUnauthorized,
		keys.ErrNotFound, keys.ErrWrongState, keys.ErrPermissionDenied, keys.ErrInvalidField, keys.ErrMissingData,
		keys.ErrNotSupported, keys.ErrObjectArchived, keys.ErrConflict, keys.ErrCorrupted,
	}
	for _, s := range sentinels {
		if p, _ := problemFor(s); p.Type == problemTypePrefix+"internal" {
			t.Errorf("%v is not in the error table", s)
		}
	}
}
