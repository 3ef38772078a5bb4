package main

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
)

// usage is what one data directory occupies on disk, in allocated blocks.
type usage struct {
	chunks int64 // chunks/: the pack files holding chunk bytes
	meta   int64 // meta/: the Raft log, stable store, snapshots and FSM
	other  int64 // anything else (the node id file)
}

func (u usage) total() int64 { return u.chunks + u.meta + u.other }

// dirUsage measures one node's data directory.
func dirUsage(dir string) usage {
	u := usage{
		chunks: diskBytes(filepath.Join(dir, "chunks")),
		meta:   diskBytes(filepath.Join(dir, "meta")),
	}
	u.other = diskBytes(dir) - u.chunks - u.meta
	return u
}

// printDisk prints each data directory's bytes on disk and the total,
// split into chunk packs and metadata, and how the packs compare with the
// distinct bytes stored (the replication factor plus pack overhead).
// killed names the directory of a node killed during the run, whose
// figures stop at the kill.
func printDisk(dirs []string, stored int64, killed string) {
	var sum usage
	for _, dir := range dirs {
		u := dirUsage(dir)
		if len(dirs) > 1 {
			note := ""
			if dir == killed {
				note = ", killed halfway through pass 1"
			}
			fmt.Printf("on disk %-7s %d (chunk packs %d, metadata %d, other %d%s)\n",
				filepath.Base(filepath.Dir(dir))+":", u.total(), u.chunks, u.meta, u.other, note)
		}
		sum.chunks += u.chunks
		sum.meta += u.meta
		sum.other += u.other
	}
	fmt.Printf("bytes on disk:  %d (all data directories)\n", sum.total())
	fmt.Printf("  chunk packs:  %d", sum.chunks)
	if stored > 0 {
		fmt.Printf(" (%.2f x stored bytes)", float64(sum.chunks)/float64(stored))
	}
	fmt.Printf("\n  metadata:     %d\n  other:        %d\n", sum.meta, sum.other)
}

// diskBytes sums the allocated blocks of every file under dir; a missing
// dir counts as zero.
func diskBytes(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return nil
		}
		if info, err := de.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			}
		}
		return nil
	})
	return total
}
