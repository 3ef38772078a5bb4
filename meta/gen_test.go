package meta

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/placement"
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
	// nodes models the layout: what each node's record should be, and
	// how many changes the layout has seen.
	nodes         map[NodeID]placement.Node
	layoutVersion uint64
	replicas      int
}

func newOpGen(seed uint64) *opGen {
	g := &opGen{
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:      t0,
		live:     map[RefID]chunk.Hash{},
		fileRefs: map[chunk.Hash]int{},
		nodes:    map[NodeID]placement.Node{},
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
	case n < 40:
		return g.create()
	case n < 55:
		return g.attach()
	case n < 80:
		return g.delete()
	case n < 90:
		olderThan := g.now.Add(-time.Duration(g.rng.IntN(60)) * time.Second)
		return op{cmd: collectCmd(olderThan, 1+g.rng.IntN(5))}
	default:
		return g.layoutOp()
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

// layoutOp draws a layout command over six node ids (and one never
// joined), predicting its outcome from the model.
func (g *opGen) layoutOp() op {
	id := NodeID(fmt.Sprintf("node%d", g.rng.IntN(7)))
	cur, known := g.nodes[id]
	states := []placement.State{placement.Active, placement.Draining, placement.Out}
	var c *command
	switch n := g.rng.IntN(10); {
	case n < 3:
		return g.join(id)
	case n < 6:
		c = stateCmd(string(id), states[g.rng.IntN(len(states))])
		cur.State = c.State
	case n < 7:
		c = weightCmd(string(id), g.rng.IntN(4)*100)
		cur.Weight = c.Weight
	case n < 8:
		c = replicasCmd(1 + g.rng.IntN(5))
		if c.Replicas != g.replicas {
			g.replicas = c.Replicas
			g.layoutVersion++
		}
		return op{cmd: c}
	default:
		c = removeCmd(string(id))
		if known && g.nodes[id].State != placement.Out {
			return op{cmd: c, want: codeInvalid}
		}
		if known {
			delete(g.nodes, id)
			g.layoutVersion++
		}
	}
	c.Now = g.now
	if !known {
		return op{cmd: c, want: codeNotFound}
	}
	if c.Kind != kindRemoveNode && cur != g.nodes[id] {
		g.nodes[id] = cur
		g.layoutVersion++
	}
	return op{cmd: c}
}

// join draws a join of id at one of two API addresses, so that a
// repeated join sometimes moves the node and sometimes changes nothing.
func (g *opGen) join(id NodeID) op {
	n := testNode(string(id))
	n.APIAddr = fmt.Sprintf("http://%s-%d:8090", id, g.rng.IntN(2))
	n.Weight = g.rng.IntN(3) * 100
	auto := g.rng.IntN(2) == 0
	c := joinCmd(n, auto)
	c.Now = g.now

	cur, known := g.nodes[id]
	switch {
	case !known:
		n.State = placement.Out
		if auto {
			n.State = placement.Active
		}
		g.nodes[id] = n
		g.layoutVersion++
	case cur.APIAddr != n.APIAddr:
		cur.APIAddr = n.APIAddr
		g.nodes[id] = cur
		g.layoutVersion++
	}
	return op{cmd: c}
}

// requireLayoutModel fails unless l holds exactly the modelled nodes,
// replication factor and version.
func (g *opGen) requireLayoutModel(t testing.TB, l placement.Layout) {
	t.Helper()
	if l.Version != g.layoutVersion || l.Replicas != g.replicas || len(l.Nodes) != len(g.nodes) {
		t.Fatalf("layout version %d, replicas %d, %d nodes; model %d, %d, %d",
			l.Version, l.Replicas, len(l.Nodes), g.layoutVersion, g.replicas, len(g.nodes))
	}
	for _, n := range l.Nodes {
		if want := g.nodes[n.ID]; n != want {
			t.Fatalf("layout node %+v, model %+v", n, want)
		}
	}
}
