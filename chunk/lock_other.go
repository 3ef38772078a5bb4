//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package chunk

import (
	"fmt"
	"os"
)

// lockDir opens dir/LOCK without locking it: this platform has no flock,
// so nothing stops two processes from opening the same store.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir+string(os.PathSeparator)+"LOCK", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock store: %w", err)
	}
	return f, nil
}
