package migrate

import (
	"context"

	"github.com/keywarden/keywarden/internal/usage/seedxml"
)

// Target is the server a plan is made against and applied to. The admin
// API implements it in-process behind POST /v1/import, so that a whole
// migration is one audited request; tests use a fake.
type Target interface {
	// Snapshot returns what the server holds.
	Snapshot(ctx context.Context) (*State, error)
	// ImportLabel stores a label (with its private key when it has one)
	// and returns the ids of its managed objects.
	ImportLabel(ctx context.Context, l Label) (ids []string, err error)
	// CreateGroup creates a device group with default labels.
	CreateGroup(ctx context.Context, name, family, alias1, alias2 string) error
	// SetGroupLabels sets a device group's default labels.
	SetGroupLabels(ctx context.Context, name, alias1, alias2 string) error
	// DeleteGroup deletes a device group.
	DeleteGroup(ctx context.Context, name string) error
	// AddDevice adds a drive to the device table and returns its id.
	AddDevice(ctx context.Context, d Drive) (id string, err error)
	// DeleteDevice removes a device.
	DeleteDevice(ctx context.Context, id string) error
	// CreateKeyGroup creates an LTO key group with fresh keys and returns
	// the ids of its keys.
	CreateKeyGroup(ctx context.Context, name, aliases string) (ids []string, err error)
	// Retire revokes and destroys managed objects (to undo an import).
	Retire(ctx context.Context, ids []string) error
	// ImportUsage stores usage events, all or none.
	ImportUsage(ctx context.Context, events []seedxml.Event) (int, error)
}

// State is what a server holds that a migration compares with.
type State struct {
	Labels    []ExistingLabel
	Groups    []ExistingGroup
	Devices   []ExistingDevice
	KeyGroups []ExistingKeyGroup
	// Usage are the server's usage records that name a volume, as
	// metadata events.
	Usage []seedxml.Event
}

// ExistingLabel is a label on the server.
type ExistingLabel struct {
	Name, KeyHash string
	HasPrivateKey bool
	// Destroyed is true when its certificate is no longer active or
	// pre-active (revoked or destroyed): it cannot serve, and its name is
	// taken.
	Destroyed bool
}

// ExistingGroup is a device group on the server.
type ExistingGroup struct{ Name, Family, Alias1, Alias2 string }

// ExistingDevice is a device on the server.
type ExistingDevice struct{ ID, Family, Serial, WWN, Alias1, Alias2, Group string }

// ExistingKeyGroup is an LTO key group on the server.
type ExistingKeyGroup struct {
	Name    string
	Aliases []string
	// Destroyed is true when every key of the group is destroyed (an
	// undone migration leaves such groups): its name and aliases stay
	// taken.
	Destroyed bool
}
