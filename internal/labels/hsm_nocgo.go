//go:build !cgo

package labels

import "github.com/keywarden/keywarden/internal/barrier"

// HSMFromMasterKey reports false: without cgo this binary has no PKCS#11
// support (barrier explains how to rebuild it).
func HSMFromMasterKey(barrier.MasterKey) (HSM, bool) { return nil, false }
