package chunk

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for StoreOptions fields left zero.
const (
	DefaultPackSize         = 256 << 20 // bytes at which a pack is rolled
	DefaultCompactThreshold = 0.5       // dead fraction that makes a pack worth rewriting
)

// StoreOptions configures a Store. Zero fields take the defaults.
type StoreOptions struct {
	// PackSize is the size at which appends move on to a new pack file.
	// A record is never split, so a pack may end up larger by one record.
	PackSize int64

	// CompactThreshold is the fraction of dead bytes above which Compact
	// rewrites a pack, in (0, 1].
	CompactThreshold float64

	// Logger receives the store's events; nil discards them.
	Logger *slog.Logger

	// Now is the clock for touch times; nil means time.Now.
	Now func() time.Time
}

func (o StoreOptions) withDefaults() StoreOptions {
	if o.PackSize <= 0 {
		o.PackSize = DefaultPackSize
	}
	if o.CompactThreshold <= 0 || o.CompactThreshold > 1 {
		o.CompactThreshold = DefaultCompactThreshold
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store keeps chunks durably in pack files under one directory, with an
// in-memory index from Hash to record. All methods are safe for concurrent
// use. A directory is used by one Store at a time; Open takes a lock file.
//
// Touch times live in memory only. Open sets every chunk's touch time to
// the time of opening: that can only postpone the deletion of idle chunks,
// never hasten it.
type Store struct {
	dir     string
	packDir string
	opts    StoreOptions
	log     *slog.Logger
	lock    *os.File

	mu     sync.RWMutex // guards the fields below and the pack fields it names
	index  map[Hash]*entry
	packs  []*pack // ascending id; the last may be cur
	cur    *pack   // receives appends; nil until one is needed
	nextID uint32  // id of the next pack to create
	chunks int64   // ready entries in index
	stored int64   // sum of their sizes
	closed bool

	// ops counts calls doing I/O; Close waits for them before closing
	// files. Add is only called under mu with closed false.
	ops sync.WaitGroup

	compactMu sync.Mutex // one Compact at a time
}

// entry locates one chunk. Its fields other than touched are guarded by
// Store.mu; compaction moves a chunk by changing pack and off.
type entry struct {
	pack *pack
	off  int64 // offset of the record header in pack
	size int
	crc  uint32 // CRC32C of the data

	// pending is non-nil while the Put writing this record has not
	// finished, and closed when it does. A pending entry is not visible:
	// Has, Get and Walk treat it as absent.
	pending chan struct{}

	touched atomic.Int64 // unix nanoseconds of the last Put or Touch
}

// Stats describes a Store at one moment.
type Stats struct {
	Chunks      int64 // chunks in the index
	StoredBytes int64 // sum of their sizes
	DiskBytes   int64 // size of all pack files
	DeadBytes   int64 // bytes in packs no chunk uses: deleted, replaced, tombstones
	Packs       int   // pack files
}

// Open opens the store in dir, creating the directory if needed, and
// rebuilds the index from the packs. A pack whose tail holds a torn or
// corrupt record is cut back to its last good record, with a warning.
// Open fails if another Store holds dir.
func Open(dir string, opts StoreOptions) (*Store, error) {
	start := time.Now()
	opts = opts.withDefaults()
	packDir := filepath.Join(dir, packDirName)
	if err := os.MkdirAll(packDir, 0o755); err != nil {
		return nil, fmt.Errorf("open chunk store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open chunk store: %w", err)
	}
	s := &Store{
		dir:     dir,
		packDir: packDir,
		opts:    opts,
		log:     opts.Logger,
		lock:    lock,
		index:   make(map[Hash]*entry),
		nextID:  1,
	}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("open chunk store: %w", err)
	}
	st := s.Stats()
	s.log.Info("chunk store opened",
		"dir", dir,
		"chunks", st.Chunks,
		"packs", st.Packs,
		"disk_bytes", st.DiskBytes,
		"duration", time.Since(start))
	return s, nil
}

// load opens every pack in order and applies its records to the index.
func (s *Store) load() error {
	ids, err := listPacks(s.packDir)
	if err != nil {
		return err
	}
	now := s.opts.Now().UnixNano()
	for _, id := range ids {
		p, err := openPack(s.packDir, id)
		if err != nil {
			return err
		}
		s.packs = append(s.packs, p)
		recs, err := s.recover(p)
		if err != nil {
			return err
		}
		s.apply(p, recs, now)
		s.nextID = id + 1
	}
	if n := len(s.packs); n > 0 {
		s.cur = s.packs[n-1]
	}
	return nil
}

// recover scans p and cuts off a bad tail, making the cut durable before
// any new record can be appended after it.
func (s *Store) recover(p *pack) ([]scannedRecord, error) {
	fi, err := p.f.Stat()
	if err != nil {
		return nil, fmt.Errorf("recover pack %d: %w", p.id, err)
	}
	recs, end, stop := scanPack(p.f, fi.Size())
	if stop != nil && !errors.Is(stop, ErrCorrupt) {
		return nil, fmt.Errorf("recover pack %d: %w", p.id, stop)
	}
	if end < fi.Size() {
		s.log.Warn("truncating torn or corrupt pack tail",
			"pack", p.id,
			"offset", end,
			"dropped_bytes", fi.Size()-end,
			"err", stop)
		if err := p.f.Truncate(end); err != nil {
			return nil, fmt.Errorf("recover pack %d: %w", p.id, err)
		}
		if err := syncData(p.f); err != nil {
			return nil, fmt.Errorf("recover pack %d: %w", p.id, err)
		}
	}
	p.size = end
	p.gc = newGroupCommit(end)
	return recs, nil
}

// apply replays the records of p into the index. The last record for a
// hash wins; whatever it replaces becomes dead bytes.
func (s *Store) apply(p *pack, recs []scannedRecord, touched int64) {
	for _, r := range recs {
		if old := s.index[r.hdr.hash]; old != nil {
			s.unindexLocked(r.hdr.hash, old)
		}
		if r.hdr.kind == kindTombstone {
			p.dead += RecordHeaderSize
			continue
		}
		e := &entry{pack: p, off: r.off, size: int(r.hdr.length), crc: r.hdr.dataCRC}
		e.touched.Store(touched)
		s.indexLocked(r.hdr.hash, e)
	}
}

// indexLocked makes e the ready entry for h. s.mu must be held for writing.
func (s *Store) indexLocked(h Hash, e *entry) {
	s.index[h] = e
	e.pack.live++
	s.chunks++
	s.stored += int64(e.size)
}

// unindexLocked removes the ready entry e of h and counts its record as
// dead. s.mu must be held for writing.
func (s *Store) unindexLocked(h Hash, e *entry) {
	delete(s.index, h)
	e.pack.live--
	e.pack.dead += recordLen(e.size)
	s.chunks--
	s.stored -= int64(e.size)
}

// Close waits for calls in progress, then closes the pack files. Calls
// made after Close fail with ErrClosed (or report absence, for those that
// return no error). Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()

	s.ops.Wait()
	err := s.closeFiles()
	s.log.Info("chunk store closed", "dir", s.dir)
	return err
}

func (s *Store) closeFiles() error {
	var errs []error
	for _, p := range s.packs {
		errs = append(errs, p.f.Close())
	}
	errs = append(errs, s.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close chunk store: %w", err)
	}
	return nil
}

// readyLocked returns the visible entry for h, or nil. s.mu must be held.
func (s *Store) readyLocked(h Hash) *entry {
	e := s.index[h]
	if e == nil || e.pending != nil || s.closed {
		return nil
	}
	return e
}

// Has reports whether the store holds h.
func (s *Store) Has(h Hash) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.readyLocked(h) != nil
}

// Size returns the length of chunk h, or false if the store lacks it.
func (s *Store) Size(h Hash) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.readyLocked(h); e != nil {
		return e.size, true
	}
	return 0, false
}

// Touch sets the touch time of h to now and reports whether the store
// holds h. It writes nothing to disk.
func (s *Store) Touch(h Hash) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.readyLocked(h)
	if e != nil {
		e.touched.Store(s.opts.Now().UnixNano())
	}
	return e != nil
}

// Walk calls fn for each chunk in a snapshot of the index taken when Walk
// starts, in no particular order, until fn returns false. fn may call any
// method of the Store; chunks it adds or removes do not change the walk.
func (s *Store) Walk(fn func(h Hash, size int, touched time.Time) bool) {
	type item struct {
		h       Hash
		size    int
		touched int64
	}
	s.mu.RLock()
	items := make([]item, 0, s.chunks)
	for h, e := range s.index {
		if e.pending == nil && !s.closed {
			items = append(items, item{h: h, size: e.size, touched: e.touched.Load()})
		}
	}
	s.mu.RUnlock()

	for _, it := range items {
		if !fn(it.h, it.size, time.Unix(0, it.touched)) {
			return
		}
	}
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{Chunks: s.chunks, StoredBytes: s.stored, Packs: len(s.packs)}
	for _, p := range s.packs {
		st.DiskBytes += p.size
		st.DeadBytes += p.dead
	}
	return st
}

// Locate returns the pack file holding chunk h and the offset of its data
// in that file (the record header takes the RecordHeaderSize bytes before
// it). It is for scrubbing, diagnostics and tests: the location is stale
// as soon as a compaction moves the chunk.
func (s *Store) Locate(h Hash) (path string, off int64, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.readyLocked(h)
	if e == nil {
		return "", 0, false
	}
	return e.pack.path, e.off + RecordHeaderSize, true
}

// dropPackLocked forgets p; the caller removes its file. s.mu must be
// held for writing.
func (s *Store) dropPackLocked(p *pack) {
	for i, q := range s.packs {
		if q == p {
			s.packs = append(s.packs[:i:i], s.packs[i+1:]...)
			return
		}
	}
}
