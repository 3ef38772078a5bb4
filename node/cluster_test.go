package node_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/chunk"
	"github.com/helixtrack/attachments/internal/config"
	"github.com/helixtrack/attachments/node"
	"github.com/helixtrack/attachments/placement"
)

// testCluster is several real nodes in this process, each on its own
// loopback ports and data directory, joined through the first.
type testCluster struct {
	t     *testing.T
	nodes []*testNode
	cfgs  []config.Config
}

func startCluster(t *testing.T, size int, tweak func(*config.Config)) *testCluster {
	t.Helper()
	tc := &testCluster{t: t}
	for i := range size {
		tc.add(tweak, i > 0)
	}
	return tc
}

// add starts one more node; join makes it join through the first node.
func (tc *testCluster) add(tweak func(*config.Config), join bool) *testNode {
	tc.t.Helper()
	cfg := testConfig(tc.t, tc.t.TempDir())
	if join {
		cfg.Cluster.Join = []string{tc.nodes[0].url}
	}
	if tweak != nil {
		tweak(&cfg)
	}
	tn := startNode(tc.t, cfg)
	tc.nodes = append(tc.nodes, tn)
	tc.cfgs = append(tc.cfgs, cfg)
	return tn
}

// restart starts node i again on its data directory, with new API ports.
func (tc *testCluster) restart(i int) *testNode {
	tc.t.Helper()
	cfg := tc.cfgs[i]
	cfg.Service.Port = freePort(tc.t)
	tn := startNode(tc.t, cfg)
	tc.nodes[i] = tn
	return tn
}

// rebalance runs passes on every live node until none reports pending
// moves or under-replicated chunks.
func (tc *testCluster) rebalance(live ...int) {
	tc.t.Helper()
	ctx := context.Background()
	waitFor(tc.t, func() bool {
		for _, i := range live {
			tc.nodes[i].n.Rebalance(ctx)
		}
		st := tc.status(live[0])
		return st.PendingMoves == 0 && st.UnderReplicated == 0
	}, "rebalance converges")
}

func (tc *testCluster) status(i int) node.ClusterStatus {
	tc.t.Helper()
	st, err := tc.nodes[i].n.ClusterStatus(context.Background())
	if err != nil {
		tc.t.Fatal(err)
	}
	return st.(node.ClusterStatus)
}

// copies counts, per node, the local chunks among hs.
func (tc *testCluster) copies(hs []chunk.Hash, live ...int) map[int]int {
	out := map[int]int{}
	for _, i := range live {
		for _, h := range hs {
			if tc.nodes[i].n.Chunks().Has(h) {
				out[i]++
			}
		}
	}
	return out
}

func TestClusterAnyNodeServesAnyRequest(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write", "delete")
	want := map[string][]byte{}
	for i, tn := range tc.nodes {
		data := randomBytes(uint64(i+1), 700_000+i)
		want[tn.upload(tok, "ticket", "T-1", fmt.Sprint("f", i), data).ID] = data
	}
	for id, data := range want {
		for j, tn := range tc.nodes {
			if got := tn.download(tok, id); !bytes.Equal(got, data) {
				t.Fatalf("reference %s differs when read through node %d", id, j)
			}
		}
	}
	// Read-after-write on a follower, and a delete through another node.
	f := tc.nodes[2].upload(tok, "ticket", "T-2", "x", []byte("fresh\n"))
	if code, _ := tc.nodes[1].status("GET", "/v1/files/"+f.ID, tok, nil, nil); code != 200 {
		t.Errorf("read on another node right after the write: %d", code)
	}
	if code, _ := tc.nodes[1].status("DELETE", "/v1/files/"+f.ID, tok, nil, nil); code != 204 {
		t.Errorf("delete through a follower: %d", code)
	}
	if code, _ := tc.nodes[2].status("GET", "/v1/files/"+f.ID, tok, nil, nil); code != 404 {
		t.Errorf("read after delete on a third node: %d, want 404", code)
	}
	st := tc.status(1)
	if len(st.Nodes) != 3 || st.Replicas != 3 || st.Leader == "" {
		t.Errorf("status: %d nodes, replicas %d, leader %q", len(st.Nodes), st.Replicas, st.Leader)
	}
	verifyMeta(t, tc.nodes[1])
}

func TestClusterSurvivesNodeLossAndCatchesUp(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write")
	before := map[string][]byte{}
	for i := range 6 {
		data := randomBytes(uint64(10+i), 400_000)
		before[tc.nodes[i%3].upload(tok, "ticket", "T-1", "f", data).ID] = data
	}

	// Stop a follower (not the leader, so the metadata keeps its quorum
	// with the other two).
	down := 2
	if tc.status(0).Leader == tc.nodes[2].n.NodeID() {
		down = 1
	}
	tc.nodes[down].n.Close()
	up := []int{0, 1, 2}
	up = append(up[:down], up[down+1:]...)

	for id, data := range before {
		for _, i := range up {
			if got := tc.nodes[i].download(tok, id); !bytes.Equal(got, data) {
				t.Fatalf("reference %s lost with node %d down (read on %d)", id, down, i)
			}
		}
	}
	after := map[string][]byte{}
	for i := range 3 {
		data := randomBytes(uint64(20+i), 300_000)
		after[tc.nodes[up[i%2]].upload(tok, "ticket", "T-2", "g", data).ID] = data
	}

	tn := tc.restart(down)
	for id, data := range merge(before, after) {
		if got := tn.download(tok, id); !bytes.Equal(got, data) {
			t.Fatalf("restarted node serves wrong bytes for %s", id)
		}
	}
	tc.rebalance(0, 1, 2)
	verifyMeta(t, tn)
}

func merge(a, b map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func TestClusterAddDrainRemove(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write")
	admin := tc.nodes[0].token("ops", "admin")
	var hs []chunk.Hash
	var ids []string
	datas := map[string][]byte{}
	for i := range 40 {
		data := randomBytes(uint64(100+i), 60_000) // under the minimum chunk: one chunk each
		f := tc.nodes[i%3].upload(tok, "ticket", "T-1", "f", data)
		h, _ := chunk.ParseHash(f.FileHash)
		hs = append(hs, h)
		ids = append(ids, f.ID)
		datas[f.ID] = data
	}
	tc.rebalance(0, 1, 2)
	total := 0
	for _, c := range tc.copies(hs, 0, 1, 2) {
		total += c
	}
	if total != 3*len(hs) {
		t.Fatalf("%d copies of %d chunks on 3 nodes, want 3 each", total, len(hs))
	}

	// A fourth node takes about a quarter of the copies.
	tc.add(nil, true)
	tc.rebalance(0, 1, 2, 3)
	c := tc.copies(hs, 0, 1, 2, 3)
	share := float64(c[3]) / float64(3*len(hs))
	t.Logf("copies after adding a node: %v; the new node holds %.2f of them (ideal 0.25)", c, share)
	if share < 0.15 || share > 0.35 {
		t.Errorf("new node holds %.2f of the copies, want 0.25 +- 0.10", share)
	}
	if sum := c[0] + c[1] + c[2] + c[3]; sum != 3*len(hs) {
		t.Errorf("%d copies after the move, want exactly %d", sum, 3*len(hs))
	}

	// Removing a node that holds data is refused; draining it moves all.
	id4 := tc.nodes[3].n.NodeID()
	removePath := "/v1/admin/nodes/" + id4 + "/remove"
	if code, ecode := tc.nodes[1].status("POST", removePath, admin, nil, nil); code != 409 {
		t.Errorf("remove an active node: %d %s, want 409", code, ecode)
	}
	if code, _ := tc.nodes[1].status("POST", "/v1/admin/nodes/"+id4+"/drain", admin, nil, nil); code != 204 {
		t.Fatalf("drain: %d", code)
	}
	waitFor(t, func() bool {
		for _, i := range []int{0, 1, 2, 3} {
			tc.nodes[i].n.Rebalance(context.Background())
		}
		m, _ := placementNode(tc.status(0), id4)
		return m.State == placement.Out
	}, "the drained node is out")
	if c := tc.copies(hs, 3); c[3] != 0 {
		t.Errorf("drained node still holds %d chunks", c[3])
	}
	if code, ecode := tc.nodes[1].status("POST", removePath, admin, nil, nil); code != 204 {
		t.Fatalf("remove the drained node: %d %s", code, ecode)
	}
	if st := tc.status(0); len(st.Nodes) != 3 {
		t.Errorf("layout has %d nodes after remove, want 3", len(st.Nodes))
	}
	tc.nodes[3].n.Close()
	for _, id := range ids {
		if got := tc.nodes[2].download(tok, id); !bytes.Equal(got, datas[id]) {
			t.Fatalf("reference %s lost by drain and remove", id)
		}
	}
}

func placementNode(st node.ClusterStatus, id string) (node.NodeStatus, bool) {
	for _, n := range st.Nodes {
		if string(n.ID) == id {
			return n, true
		}
	}
	return node.NodeStatus{}, false
}

func TestClusterMarksDownNodeOutAndRebuildsCopies(t *testing.T) {
	tc := startCluster(t, 4, func(c *config.Config) {
		c.Cluster.DownOutInterval = config.Duration(time.Second)
	})
	tok := tc.nodes[0].token("alice", "read", "write")
	var hs []chunk.Hash
	want := map[string][]byte{}
	for i := range 20 {
		data := randomBytes(uint64(300+i), 50_000)
		f := tc.nodes[i%4].upload(tok, "ticket", "T-1", "f", data)
		h, _ := chunk.ParseHash(f.FileHash)
		hs = append(hs, h)
		want[f.ID] = data
	}
	tc.rebalance(0, 1, 2, 3)

	// Stop a node that is not the leader; after the down-out interval the
	// leader marks it out and the survivors rebuild its copies.
	down := 3
	if tc.status(0).Leader == tc.nodes[3].n.NodeID() {
		down = 2
	}
	downID := tc.nodes[down].n.NodeID()
	tc.nodes[down].n.Close()
	var live []int
	for i := range 4 {
		if i != down {
			live = append(live, i)
		}
	}
	waitFor(t, func() bool {
		m, ok := placementNode(tc.status(live[0]), downID)
		return ok && m.State == placement.Out
	}, "the stopped node is marked out")
	tc.rebalance(live...)

	total := 0
	for _, c := range tc.copies(hs, live...) {
		total += c
	}
	if total != 3*len(hs) {
		t.Errorf("%d copies on the 3 survivors, want %d (3 per chunk)", total, 3*len(hs))
	}
	for id, data := range want {
		if got := tc.nodes[live[1]].download(tok, id); !bytes.Equal(got, data) {
			t.Fatalf("reference %s lost after its node was marked out", id)
		}
	}
}

func TestClusterCollectionRacesUploadsOfSameBytes(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write", "delete")
	data := randomBytes(55, 300_000)
	done := make(chan string, 3)
	for w := range 3 {
		go func() {
			var keep string
			for i := range 5 {
				f := tc.nodes[w].upload(tok, "ticket", fmt.Sprint("W", w), "same", data)
				if i == 4 {
					keep = f.ID
					break
				}
				tc.nodes[(w+1)%3].status("DELETE", "/v1/files/"+f.ID, tok, nil, nil)
				tc.nodes[w].n.CollectGarbage(context.Background(), time.Now())
			}
			done <- keep
		}()
	}
	var kept []string
	for range 3 {
		kept = append(kept, <-done)
	}
	for _, tn := range tc.nodes {
		tn.n.CollectGarbage(context.Background(), time.Now())
	}
	for _, id := range kept {
		for j, tn := range tc.nodes {
			if got := tn.download(tok, id); !bytes.Equal(got, data) {
				t.Fatalf("kept reference %s lost its bytes (read on node %d)", id, j)
			}
		}
	}
	verifyMeta(t, tc.nodes[0])
}

// metricValue reads one unlabelled series from a node's /metrics.
func metricValue(t *testing.T, tn *testNode, name string) float64 {
	t.Helper()
	resp := tn.do("GET", "/metrics", "", nil, nil)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestClusterDoesNotResendStoredChunks(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write")
	data := randomBytes(66, 2<<20)
	tc.nodes[0].upload(tok, "ticket", "T-1", "a", data)
	tc.rebalance(0, 1, 2)
	received := func() float64 {
		return metricValue(t, tc.nodes[1], "attachments_peer_chunk_bytes_received_total") +
			metricValue(t, tc.nodes[2], "attachments_peer_chunk_bytes_received_total")
	}
	before := received()
	if before < float64(len(data)) {
		t.Fatalf("peers received %.0f bytes of a %d-byte first upload", before, len(data))
	}
	f := tc.nodes[0].upload(tok, "ticket", "T-2", "b", data)
	if got := received(); got != before || !f.Deduplicated {
		t.Errorf("second upload of the same bytes sent %.0f bytes to peers (dedup %v), want 0",
			got-before, f.Deduplicated)
	}
}

func TestClusterAutoAddOffWaitsForOperator(t *testing.T) {
	tc := startCluster(t, 2, nil)
	tok := tc.nodes[0].token("alice", "read", "write")
	admin := tc.nodes[0].token("ops", "admin")
	late := tc.add(func(c *config.Config) { c.Cluster.AutoAdd = false }, true)
	lateID := late.n.NodeID()

	m, ok := placementNode(tc.status(0), lateID)
	if !ok || m.State != placement.Out {
		t.Fatalf("node joined with auto_add off: in layout %v, state %q; want out", ok, m.State)
	}
	// It serves requests, but owns nothing: chunks go to the other two.
	data := randomBytes(77, 50_000)
	f := late.upload(tok, "ticket", "T-1", "a", data)
	h, _ := chunk.ParseHash(f.FileHash)
	tc.rebalance(0, 1, 2)
	if late.n.Chunks().Has(h) {
		t.Error("a waiting node holds a chunk after rebalancing")
	}

	if code, _ := tc.nodes[1].status("POST", "/v1/admin/nodes/"+lateID+"/add", admin, nil, nil); code != 204 {
		t.Fatalf("add: %d", code)
	}
	tc.rebalance(0, 1, 2)
	if !late.n.Chunks().Has(h) {
		t.Error("after add, the node does not hold the chunk that 3 replicas on 3 nodes put on it")
	}
	if got := late.download(tok, f.ID); !bytes.Equal(got, data) {
		t.Error("download through the added node differs")
	}
}

func TestClusterServesDuringMoves(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write")
	want := map[string][]byte{}
	for i := range 20 {
		data := randomBytes(uint64(500+i), 200_000)
		want[tc.nodes[i%3].upload(tok, "ticket", "T-1", "f", data).ID] = data
	}
	tc.add(nil, true)

	// Rebalance in the background while clients upload and download.
	stop := make(chan struct{})
	moved := make(chan struct{})
	go func() {
		defer close(moved)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for i := range 4 {
				tc.nodes[i].n.Rebalance(context.Background())
			}
		}
	}()
	for i := range 12 {
		data := randomBytes(uint64(600+i), 150_000)
		want[tc.nodes[(i+1)%4].upload(tok, "ticket", "T-2", "g", data).ID] = data
		for id, d := range want {
			if got := tc.nodes[i%4].download(tok, id); !bytes.Equal(got, d) {
				t.Fatalf("download of %s through node %d differs during moves", id, i%4)
			}
			break
		}
	}
	close(stop)
	<-moved
	tc.rebalance(0, 1, 2, 3)
	for id, d := range want {
		if got := tc.nodes[3].download(tok, id); !bytes.Equal(got, d) {
			t.Fatalf("reference %s differs after the moves", id)
		}
	}
}

func TestDrainOfLastActiveNodeRefused(t *testing.T) {
	tn := newNode(t)
	admin := tn.token("ops", "admin")
	code, ecode := tn.status("POST", "/v1/admin/nodes/"+tn.n.NodeID()+"/drain", admin, nil, nil)
	if code != 409 || ecode != "conflict" {
		t.Errorf("drain of the only node: %d %q, want 409 conflict", code, ecode)
	}
	tn.upload(tn.token("a", "write"), "ticket", "T-1", "a", []byte("still writable\n"))
}

func TestClusterRemovesItsLeader(t *testing.T) {
	tc := startCluster(t, 3, nil)
	tok := tc.nodes[0].token("alice", "read", "write")
	admin := tc.nodes[0].token("ops", "admin")
	data := randomBytes(91, 100_000)
	f := tc.nodes[1].upload(tok, "ticket", "T-1", "a", data)

	leaderID := tc.status(0).Leader
	li := -1
	for i, tn := range tc.nodes {
		if tn.n.NodeID() == leaderID {
			li = i
		}
	}
	leader := tc.nodes[li]
	if code, _ := leader.status("POST", "/v1/admin/nodes/"+leaderID+"/drain", admin, nil, nil); code != 204 {
		t.Fatalf("drain the leader: %d", code)
	}
	waitFor(t, func() bool {
		for _, tn := range tc.nodes {
			tn.n.Rebalance(context.Background())
		}
		m, _ := placementNode(tc.status(li), leaderID)
		return m.State == placement.Out
	}, "the drained leader is out")
	// Through the leader itself: it must leave the layout and then Raft.
	removePath := "/v1/admin/nodes/" + leaderID + "/remove"
	if code, ecode := leader.status("POST", removePath, admin, nil, nil); code != 204 {
		t.Fatalf("remove the leader through itself: %d %q", code, ecode)
	}
	leader.n.Close()
	var other *testNode
	for i, tn := range tc.nodes {
		if i != li {
			other = tn
		}
	}
	waitFor(t, func() bool {
		st, err := other.n.ClusterStatus(context.Background())
		return err == nil && len(st.(node.ClusterStatus).Nodes) == 2 && st.(node.ClusterStatus).Leader != leaderID
	}, "two nodes remain with a new leader")
	if got := other.download(tok, f.ID); !bytes.Equal(got, data) {
		t.Fatal("reference lost when its cluster removed the leader")
	}
	other.upload(tok, "ticket", "T-2", "b", []byte("after the leader left\n"))
}
