package kmip

import (
	"errors"
	"fmt"

	"github.com/ovh/kmip-go"

	"github.com/keywarden/keywarden/internal/keys"
)

// ServeGate says whether an object's key material may be handed out: nil
// serves it, an error refuses it with that error's text as the reason. A
// server that serves only keys already in a backup (server.Config.
// RequireBackup) installs one.
type ServeGate func(o *keys.Object) error

// WithServeGate makes Get consult g before it returns key material.
func WithServeGate(g ServeGate) RouterOption { return func(r *Router) { r.gate = g } }

// errGateRefused marks a Get the serve gate refused: a policy denial,
// audited as denied.
var errGateRefused = errors.New("kmip: refused by the serve gate")

// checkGate applies the serve gate, if any, to o.
func (r *Router) checkGate(o *keys.Object) error {
	if r.gate == nil {
		return nil
	}
	if err := r.gate(o); err != nil {
		return fmt.Errorf("%w: %w", errGateRefused, kerr(kmip.ResultReasonPermissionDenied, err.Error()))
	}
	return nil
}
