//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package chunk

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock on dir/LOCK, so two processes
// never append to the same packs. The lock lasts until the file is closed.
func lockDir(dir string) (*os.File, error) {
	path := dir + string(os.PathSeparator) + "LOCK"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock store: %w", err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock store: %w", err)
	}
	var lerr error
	err = rc.Control(func(fd uintptr) {
		lerr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
	})
	if err == nil {
		err = lerr
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock store: %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("lock store: %w", err)
	}
	return f, nil
}
