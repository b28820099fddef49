package kmip

import (
	"context"

	"github.com/ovh/kmip-go"
)

// RNG Seed (KMIP 1.3 section 4.36). keywarden draws every random value from
// crypto/rand, the operating system's generator, which cannot be seeded by
// a caller (and should not be: a client's seed must never weaken it). The
// specification lets the server use only part, or none, of the seed data
// and report how much it used: keywarden accepts the request, discards the
// data and answers a Data Length of 0. ovh/kmip-go v0.8.1 has no payloads
// for the operation: they are declared here.

func init() {
	kmip.RegisterOperationPayload[RNGSeedRequestPayload, RNGSeedResponsePayload](kmip.OperationRNGSeed)
}

// maxRNGSeed bounds the seed data a request may carry, in bytes.
const maxRNGSeed = 64 << 10

// RNGSeedRequestPayload is the request of RNG Seed.
type RNGSeedRequestPayload struct {
	// Data is the seed data offered by the client.
	Data []byte
}

// Operation returns RNG Seed.
func (*RNGSeedRequestPayload) Operation() kmip.Operation { return kmip.OperationRNGSeed }

// RNGSeedResponsePayload is the response of RNG Seed.
type RNGSeedResponsePayload struct {
	// DataLength is the amount of seed data the server used, in bytes.
	DataLength int32
}

// Operation returns RNG Seed.
func (*RNGSeedResponsePayload) Operation() kmip.Operation { return kmip.OperationRNGSeed }

// rngSeed answers RNG Seed: the seed is checked and discarded, none of it
// is used (see the comment at the top of the file).
func (r *Router) rngSeed(_ context.Context, _ *batch, p kmip.OperationPayload) (kmip.OperationPayload, error) {
	req := p.(*RNGSeedRequestPayload)
	if len(req.Data) == 0 || len(req.Data) > maxRNGSeed {
		return nil, kerr(kmip.ResultReasonInvalidField, "seed data must be between 1 and 65536 bytes")
	}
	clear(req.Data)
	return &RNGSeedResponsePayload{DataLength: 0}, nil
}
