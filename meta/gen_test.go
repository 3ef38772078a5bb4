package meta

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/helixtrack/attachments/chunk"
)

// opGen draws a random stream of commands over a small pool of chunks and
// files, so that files share chunks, contents are uploaded twice, and
// deletes bring chunks to zero and back. It keeps a model of live
// references to predict each command's outcome.
type opGen struct {
	rng   *rand.Rand
	now   time.Time
	pool  []ChunkRef
	files []File
	// live maps a live reference id to its file; liveIDs keeps ids in
	// creation order so draws are deterministic.
	live    map[RefID]chunk.Hash
	liveIDs []RefID
	// fileRefs counts live references per file.
	fileRefs map[chunk.Hash]int
	deleted  []RefID
	nextID   int
}

func newOpGen(seed uint64) *opGen {
	g := &opGen{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:      t0,
		live:     map[RefID]chunk.Hash{},
		fileRefs: map[chunk.Hash]int{},
	}
	for i := range 40 {
		g.pool = append(g.pool, testChunk(fmt.Sprint(i), 1+uint32(g.rng.IntN(1000))))
	}
	return g
}

// op is one drawn command and the outcome the model expects.
type op struct {
	cmd  *command
	want resultCode
}

// next draws one command and updates the model as if it was applied.
func (g *opGen) next() op {
	g.now = g.now.Add(time.Duration(g.rng.IntN(10_000)) * time.Millisecond)
	switch n := g.rng.IntN(100); {
	case n < 45:
		return g.create()
	case n < 60:
		return g.attach()
	case n < 90:
		return g.delete()
	default:
		olderThan := g.now.Add(-time.Duration(g.rng.IntN(60)) * time.Second)
		return op{cmd: collectCmd(olderThan, 1+g.rng.IntN(5))}
	}
}

// file returns a pool file, or a new one of 1..6 pool chunks (repeats
// allowed).
func (g *opGen) file() File {
	if len(g.files) > 0 && (len(g.files) >= 30 || g.rng.IntN(2) == 0) {
		return g.files[g.rng.IntN(len(g.files))]
	}
	refs := make([]ChunkRef, 1+g.rng.IntN(6))
	for i := range refs {
		refs[i] = g.pool[g.rng.IntN(len(g.pool))]
	}
	f := testFile(refs...)
	g.files = append(g.files, f)
	return f
}

func (g *opGen) newRef(f File) Reference {
	g.nextID++
	id := fmt.Sprintf("ref-%05d", g.nextID)
	entity := fmt.Sprintf("T-%d", g.rng.IntN(5))
	return testRef(id, f, entity, fmt.Sprintf("user%d", g.rng.IntN(3)))
}

func (g *opGen) create() op {
	f := g.file()
	ref := g.newRef(f)
	g.addLive(ref.ID, f.Hash)
	return op{cmd: createCmd(ref, f, g.now)}
}

func (g *opGen) attach() op {
	if len(g.files) == 0 {
		return g.create()
	}
	f := g.files[g.rng.IntN(len(g.files))]
	ref := g.newRef(f)
	if g.fileRefs[f.Hash] == 0 {
		return op{cmd: attachCmd(ref, g.now), want: codeNotFound}
	}
	g.addLive(ref.ID, f.Hash)
	return op{cmd: attachCmd(ref, g.now)}
}

func (g *opGen) delete() op {
	if len(g.liveIDs) == 0 || g.rng.IntN(10) == 0 {
		id := RefID("never-created")
		if len(g.deleted) > 0 && g.rng.IntN(2) == 0 {
			id = g.deleted[g.rng.IntN(len(g.deleted))]
		}
		return op{cmd: deleteCmd(string(id), g.now), want: codeNotFound}
	}
	i := g.rng.IntN(len(g.liveIDs))
	id := g.liveIDs[i]
	g.liveIDs = append(g.liveIDs[:i], g.liveIDs[i+1:]...)
	g.fileRefs[g.live[id]]--
	delete(g.live, id)
	g.deleted = append(g.deleted, id)
	return op{cmd: deleteCmd(string(id), g.now)}
}

func (g *opGen) addLive(id RefID, h chunk.Hash) {
	g.live[id] = h
	g.liveIDs = append(g.liveIDs, id)
	g.fileRefs[h]++
}
