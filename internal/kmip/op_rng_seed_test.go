package kmip

import (
	"slices"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"
)

func TestRNGSeed(t *testing.T) {
	r := newTestRouter(t)
	t.Run("seed accepted, none used", func(t *testing.T) {
		got := ok[*RNGSeedResponsePayload](t, r, &RNGSeedRequestPayload{Data: make([]byte, 32)})
		if got.DataLength != 0 {
			t.Fatalf("data length = %d, want 0: crypto/rand cannot be seeded", got.DataLength)
		}
	})
	bad := []struct {
		name string
		data []byte
	}{
		{"empty seed", nil},
		{"oversized seed", make([]byte, maxRNGSeed+1)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			fails(t, r, &RNGSeedRequestPayload{Data: tc.data}, kmip.ResultReasonInvalidField)
		})
	}
	t.Run("query lists it from 1.2", func(t *testing.T) {
		if ops := r.supportedOperations(kmip.V1_2); !slices.Contains(ops, kmip.OperationRNGSeed) {
			t.Errorf("1.2 operations lack RNG Seed: %v", ops)
		}
		if ops := r.supportedOperations(kmip.V1_1); slices.Contains(ops, kmip.OperationRNGSeed) {
			t.Errorf("1.1 operations list RNG Seed")
		}
	})
}

func TestQueryRNGs(t *testing.T) {
	r := newTestRouter(t)
	q := ok[*payloads.QueryResponsePayload](t, r, &payloads.QueryRequestPayload{QueryFunction: []kmip.QueryFunction{kmip.QueryFunctionRNGs}})
	if len(q.RNGParameters) != 1 || q.RNGParameters[0].RNGAlgorithm != kmip.RNGAlgorithmUnspecified {
		t.Fatalf("RNG parameters %+v", q.RNGParameters)
	}
}
