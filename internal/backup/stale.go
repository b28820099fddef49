package backup

import (
	"fmt"
	"os"
	"path/filepath"
)

// tempPattern names the temporary copy of the store an online backup makes
// in the data directory; it is removed when the backup ends.
const tempPattern = ".backup-*.db"

// RemoveStale removes the temporary store copies that a backup interrupted
// by a crash left in dataDir (they hold sealed values only, but nothing else
// would ever remove them). Call it before the server serves, when no backup
// can be running; it returns the files removed.
func RemoveStale(dataDir string) ([]string, error) {
	stale, err := filepath.Glob(filepath.Join(dataDir, tempPattern))
	if err != nil {
		return nil, fmt.Errorf("backup: look for stale copies: %w", err)
	}
	var removed []string
	for _, path := range stale {
		if err := os.Remove(path); err != nil {
			return removed, fmt.Errorf("backup: remove stale copy: %w", err)
		}
		removed = append(removed, path)
	}
	return removed, nil
}
