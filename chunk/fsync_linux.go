//go:build linux

package chunk

import (
	"errors"
	"os"
	"syscall"
)

// syncData flushes f's data, and the metadata needed to read it back (its
// size), to stable storage. fdatasync skips timestamps, which saves a
// journal write per sync on ext4 and xfs.
func syncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return serr
}
