package keys

import (
	"bytes"
	"sync"
)

// cacheSize bounds the decoded-object cache (entries).
const cacheSize = 65536

// objectCache keeps decoded objects next to the sealed bytes they came
// from. An entry is used only while the stored bytes are byte-for-byte the
// ones that were authenticated and decoded, so a changed or tampered record
// is always opened again (and refused if it fails). It saves the unseal and
// decode work of hot objects; the store read itself is never skipped.
type objectCache struct {
	mu      sync.Mutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	sealed []byte
	obj    *Object
}

func newObjectCache() *objectCache {
	return &objectCache{entries: make(map[string]cacheEntry)}
}

// get returns the cached object for id if it was decoded from sealed.
func (c *objectCache) get(id string, sealed []byte) (*Object, bool) {
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.sealed, sealed) {
		return nil, false
	}
	return e.obj, true
}

// put records obj as decoded from sealed (copied: the caller's bytes may
// belong to a read transaction); when the cache is full an
// arbitrary entry makes room.
func (c *objectCache) put(id string, sealed []byte, obj *Object) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[id]; !ok && len(c.entries) >= cacheSize {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[id] = cacheEntry{sealed: bytes.Clone(sealed), obj: obj}
}
