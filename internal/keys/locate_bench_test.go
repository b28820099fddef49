package keys

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ovh/kmip-go"
)

// benchObjects is the store size for the Locate benchmarks:
// KEYWARDEN_BENCH_OBJECTS, default 1,000,000.
func benchObjects() int {
	if n, err := strconv.Atoi(os.Getenv("KEYWARDEN_BENCH_OBJECTS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// benchManager fills a store with n AES keys, each with a unique Name and
// Application Specific Information, in batches of 5,000 objects per command.
func benchManager(b *testing.B) (*Manager, int) {
	benchN := benchObjects()
	m, _ := newTestManager(b)
	{
		ctx := context.Background()
		start := time.Now()
		const batch = 5000
		for i := 0; i < benchN; i += batch {
			var objs []*Object
			for j := i; j < min(i+batch, benchN); j++ {
				attrs := append(aesAttrs(fmt.Sprintf("key-%d", j)), kmip.Attribute{
					AttributeName:  kmip.AttributeNameApplicationSpecificInformation,
					AttributeValue: kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: fmt.Sprintf("VOL%07d", j)},
				})
				material := make([]byte, 32)
				o, err := m.newObject(kmip.ObjectTypeSymmetricKey, OriginCreated, attrs,
					&kmip.SymmetricKey{KeyBlock: rawKeyBlock(material, kmip.CryptographicAlgorithmAES, 256)})
				if err != nil {
					b.Fatal(err)
				}
				objs = append(objs, o)
			}
			if err := m.insert(ctx, objs...); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("loaded %d objects in %v", benchN, time.Since(start))
	}
	return m, benchN
}

// runLocate measures one Locate per iteration and reports the median.
func runLocate(b *testing.B, m *Manager, n int, query func(i int) []kmip.Attribute) {
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		i := rand.IntN(n)
		start := time.Now()
		ids, _, err := m.Locate(ctx, LocateQuery{Attributes: query(i)})
		durations = append(durations, time.Since(start))
		if err != nil || len(ids) != 1 {
			b.Fatalf("locate %d: %v %v", i, ids, err)
		}
	}
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Nanoseconds()), "median-ns")
	b.ReportMetric(float64(n), "objects")
}

// BenchmarkLocate measures Locate by Name and by Application Specific
// Information (a tape's key-association data) among benchObjects() objects.
func BenchmarkLocate(b *testing.B) {
	m, n := benchManager(b)
	b.Run("ByName", func(b *testing.B) {
		runLocate(b, m, n, func(i int) []kmip.Attribute {
			return []kmip.Attribute{{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: fmt.Sprintf("key-%d", i), NameType: kmip.NameTypeUninterpretedTextString}}}
		})
	})
	b.Run("ByASI", func(b *testing.B) {
		runLocate(b, m, n, func(i int) []kmip.Attribute {
			return []kmip.Attribute{{AttributeName: kmip.AttributeNameApplicationSpecificInformation,
				AttributeValue: kmip.ApplicationSpecificInformation{ApplicationNamespace: "LIBRARY-LTO", ApplicationData: fmt.Sprintf("VOL%07d", i)}}}
		})
	})
}
