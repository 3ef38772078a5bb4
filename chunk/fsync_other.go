//go:build !linux

package chunk

import "os"

// syncData flushes f to stable storage. Systems other than Linux get a
// full fsync; on macOS that is weaker than F_FULLFSYNC.
func syncData(f *os.File) error { return f.Sync() }
