package main

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/internal/config"
	"github.com/helixtrack/attachments/node"
	"github.com/helixtrack/attachments/placement"
)

// clusterStatus runs cluster status --json against r and decodes it.
func clusterStatus(t *testing.T, r remote) node.ClusterStatus {
	t.Helper()
	res := r.run("cluster", "status", "--json")
	wantExit(t, res, exitOK)
	var st node.ClusterStatus
	if err := json.Unmarshal([]byte(res.stdout), &st); err != nil {
		t.Fatalf("cluster status --json is not a status: %v\n%s", err, res.stdout)
	}
	return st
}

// memberState returns the layout state of node id in st, "" when absent.
func memberState(st node.ClusterStatus, id string) placement.State {
	for _, ns := range st.Nodes {
		if string(ns.ID) == id {
			return ns.State
		}
	}
	return ""
}

func TestClusterStatusAndNodeActions(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 2))
	// A drained node marks itself out only in the rebalance pass after the
	// one that emptied it, so passes run often here.
	nodes := startCluster(t, 3, func(cfg *config.Config) {
		cfg.Cluster.RebalanceInterval = config.Duration(300 * time.Millisecond)
	})
	admin := func(i int) remote {
		return remote{t: t, url: nodes[i].Addr(), token: mintToken(t, "ops", "admin")}
	}
	user := func(i int) remote {
		return remote{t: t, url: nodes[i].Addr(),
			token: mintToken(t, "alice", "read", "write")}
	}

	// A file put through node 0 reads back through node 2.
	data := randomBytes(rng, 700_000)
	res := user(0).run("put", writeFile(t, t.TempDir(), "scan.bin", data),
		"--entity", "ticket/T-7")
	wantExit(t, res, exitOK)
	id := strings.TrimSpace(res.stdout)
	if got := user(2).run("get", id); got.stdout != string(data) {
		t.Fatalf("get through node 2: %d bytes, want the %d put through node 0",
			len(got.stdout), len(data))
	}

	st := clusterStatus(t, admin(1))
	if len(st.Nodes) != 3 || st.Leader == "" || st.Replicas != 3 || st.LayoutVersion == 0 {
		t.Fatalf("status: %d nodes, leader %q, replicas %d, layout %d; want 3 nodes, "+
			"a leader, 3 replicas", len(st.Nodes), st.Leader, st.Replicas, st.LayoutVersion)
	}
	for _, ns := range st.Nodes {
		if !ns.Alive || ns.State != placement.Active || ns.Stats == nil || ns.Error != "" {
			t.Errorf("member %s: alive %v, state %s, stats %v, error %q",
				ns.ID, ns.Alive, ns.State, ns.Stats, ns.Error)
		}
	}
	checkStatusTable(t, admin(2), st)

	// Take out a follower, so the remaining two keep the leader.
	victim := 1
	if nodes[1].NodeID() == st.Leader {
		victim = 2
	}
	keeper := 3 - victim // the other of nodes 1 and 2
	vid := nodes[victim].NodeID()
	checkNodeActions(t, admin(0), vid)

	if got := user(keeper).run("get", id); got.stdout != string(data) {
		t.Errorf("get through node %d after removing %s: %d bytes, want %d",
			keeper, vid, len(got.stdout), len(data))
	}
}

// checkStatusTable compares the readable status with the JSON one.
func checkStatusTable(t *testing.T, r remote, st node.ClusterStatus) {
	t.Helper()
	res := r.run("cluster", "status")
	wantExit(t, res, exitOK)
	rows := lines(res.stdout)
	if len(rows) != 2+len(st.Nodes) {
		t.Fatalf("status table: %d lines, want header, heading and %d rows:\n%s",
			len(rows), len(st.Nodes), res.stdout)
	}
	wantHeader := "leader " + st.Leader + ", layout version "
	if !strings.HasPrefix(rows[0], wantHeader) ||
		!strings.Contains(rows[0], "replicas 3, 3 nodes (3 alive)") {
		t.Errorf("status header: got %q, want %q... replicas 3, 3 nodes (3 alive)",
			rows[0], wantHeader)
	}
	if f := strings.Fields(rows[1]); len(f) != 10 || f[0] != "NODE" || f[9] != "UNDER-REPL" {
		t.Errorf("status heading: got %q", rows[1])
	}
	for i, ns := range st.Nodes {
		f := strings.Fields(rows[2+i])
		wantRole := "voter"
		if string(ns.ID) == st.Leader {
			wantRole = "leader"
		}
		if len(f) < 4 || f[0] != string(ns.ID) || f[1] != "active" || f[2] != "yes" ||
			f[3] != wantRole {
			t.Errorf("status row %d: got %q, want %s active yes %s", i, rows[2+i], ns.ID,
				wantRole)
		}
	}
}

// checkNodeActions refuses to remove vid while active, drains it, waits
// until it is out, removes it and checks that the layout lost it.
func checkNodeActions(t *testing.T, r remote, vid string) {
	t.Helper()
	wantExit(t, r.run("node", "drain", "no-such-node"), exitRuntime,
		"attachments node drain: not found: no-such-node")
	res := r.run("node", "remove", vid)
	wantExit(t, res, exitRuntime,
		"attachments node remove: node remove "+vid+": node "+vid+" is active; drain it first")
	if res.stdout != "" {
		t.Errorf("refused remove printed %q", res.stdout)
	}

	res = r.run("node", "drain", vid)
	wantExit(t, res, exitOK)
	if want := "node " + vid + " is draining;"; !strings.HasPrefix(res.stdout, want) ||
		len(lines(res.stdout)) != 1 {
		t.Errorf("drain: printed %q, want one line starting %q", res.stdout, want)
	}
	// The drained node empties itself in a rebalance pass the layout
	// change starts, then marks itself out.
	poll(t, "node "+vid+" is out", func() bool {
		return memberState(clusterStatus(t, r), vid) == placement.Out
	})

	res = r.run("node", "remove", vid)
	wantExit(t, res, exitOK)
	if res.stdout != "node "+vid+" removed from the cluster\n" {
		t.Errorf("remove: printed %q", res.stdout)
	}
	st := clusterStatus(t, r)
	if len(st.Nodes) != 2 || memberState(st, vid) != "" {
		t.Errorf("status after remove: %d nodes, %s is %q; want 2 nodes without it",
			len(st.Nodes), vid, memberState(st, vid))
	}
	wantExit(t, r.run("node", "remove", vid), exitRuntime, "not found: "+vid)
}

// poll checks cond every 50 ms until it holds, failing the test when it
// does not within serveDeadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(serveDeadline)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting until %s", serveDeadline, what)
		case <-tick.C:
		}
	}
}
