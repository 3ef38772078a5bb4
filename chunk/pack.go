package chunk

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// packDirName is the folder under the store directory holding the packs.
const packDirName = "packs"

// pack is one append-only pack file.
type pack struct {
	id   uint32
	path string
	f    *os.File
	gc   *groupCommit

	// Guarded by Store.mu.
	size    int64 // bytes reserved; the file length once writes land
	dead    int64 // bytes of records that no index entry uses
	live    int   // index entries pointing into this pack
	retired bool  // a write or sync failed: append no more here

	// refs counts readers holding the file open; a compaction that
	// removes the pack closes and deletes the file when the last one
	// leaves. removed is set once the pack left Store.packs.
	refs    atomic.Int32
	removed atomic.Bool
	destroy sync.Once
}

// packName is the file name of pack id: its number zero-padded to eight
// digits (more once ids pass 99999999), so names sort like ids.
func packName(id uint32) string { return fmt.Sprintf("%08d.pack", id) }

// parsePackName returns the id of a pack file name, or false for any
// other name.
func parsePackName(name string) (uint32, bool) {
	base, ok := strings.CutSuffix(name, ".pack")
	if !ok || len(base) < 8 {
		return 0, false
	}
	id, err := strconv.ParseUint(base, 10, 32)
	return uint32(id), err == nil
}

// listPacks returns the ids of the pack files in dir, ascending.
func listPacks(dir string) ([]uint32, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list packs: %w", err)
	}
	var ids []uint32
	for _, e := range ents {
		if id, ok := parsePackName(e.Name()); ok && e.Type().IsRegular() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// openPack opens an existing pack. Its size is set by the caller after
// recovery decides where the valid records end.
func openPack(dir string, id uint32) (*pack, error) {
	path := filepath.Join(dir, packName(id))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open pack %d: %w", id, err)
	}
	return &pack{id: id, path: path, f: f}, nil
}

// createPack creates an empty pack and makes its directory entry durable,
// so records acknowledged in it cannot vanish with the file name.
func createPack(dir string, id uint32) (*pack, error) {
	path := filepath.Join(dir, packName(id))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create pack %d: %w", id, err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("create pack %d: %w", id, err)
	}
	return &pack{id: id, path: path, f: f, gc: newGroupCommit(0)}, nil
}

// syncDir makes the creation or removal of entries in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// acquire keeps p's file open for a read. Store.mu must be held (read or
// write) while p is looked up and acquired, so that a compaction cannot
// remove p in between.
func (p *pack) acquire() { p.refs.Add(1) }

// release ends a read started with acquire.
func (p *pack) release() error {
	if p.refs.Add(-1) == 0 && p.removed.Load() {
		return p.unlink()
	}
	return nil
}

// remove deletes the pack once no reader holds it. p must already be out
// of Store.packs with no index entry pointing into it. The error, if any,
// comes from closing or deleting the file, by whichever of remove and the
// last release does it.
func (p *pack) remove() error {
	p.removed.Store(true)
	if p.refs.Load() == 0 {
		return p.unlink()
	}
	return nil
}

func (p *pack) unlink() error {
	var err error
	p.destroy.Do(func() {
		err = p.f.Close()
		if rerr := os.Remove(p.path); rerr != nil && err == nil {
			err = rerr
		}
		if err == nil {
			err = syncDir(filepath.Dir(p.path))
		}
		if err != nil {
			err = fmt.Errorf("remove pack %d: %w", p.id, err)
		}
	})
	return err
}
