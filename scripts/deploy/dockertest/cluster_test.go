package dockertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/helixtrack/attachments/api"
	"github.com/helixtrack/attachments/api/client"
)

// services are the compose file's nodes; node1 is the one published.
var services = []string{"node1", "node2", "node3"}

// payloadBytes spans several chunks (about 256 KiB each on average), so
// the downloads read from more than one owner.
const payloadBytes = 3<<20 + 12345

// pollEvery is the pause between two checks of a condition being waited for.
const pollEvery = 250 * time.Millisecond

func TestComposeCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds an image and runs a 3-container cluster")
	}
	compose := requireDocker(t)
	began := time.Now()
	root := repoRoot(t)
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))

	suffix := uniqueSuffix(t)
	s := &stack{
		t:       t,
		compose: compose,
		file:    filepath.Join(root, "docker-compose.yml"),
		project: "attdockertest" + suffix,
		image:   "attachments-dockertest:" + suffix,
	}
	buildImage(t, root, s.image)
	s.up()
	t.Logf("compose project %s up, node1 on 127.0.0.1:%d", s.project, s.port)

	base := fmt.Sprintf("http://127.0.0.1:%d", s.port)
	c := client.New(base, mintToken(t, root), &http.Client{Timeout: 60 * time.Second})
	waitHealthy(t, base)
	waitMembers(t, c)
	t.Logf("cluster of %d nodes ready after %v", len(services), since(began))

	payload := make([]byte, payloadBytes)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	id := upload(t, c, payload)
	download(t, c, id, payload, "before the kill")

	victim := pickVictim(t, c, rng)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := s.kill(ctx, victim); err != nil {
		t.Fatalf("kill %s: %v", victim, err)
	}
	t.Logf("killed %s (not the leader)", victim)
	download(t, c, id, payload, "after killing "+victim)
	t.Logf("whole test took %v", since(began))
}

// testSeed returns DOCKERTEST_SEED if set, a fresh seed otherwise, and
// prints it.
func testSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("DOCKERTEST_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DOCKERTEST_SEED=%q: %v", v, err)
		}
		seed = n
	}
	t.Logf("seed %d (replay with DOCKERTEST_SEED=%d)", seed, seed)
	return seed
}

// mintToken signs an admin token with the secret of the compose
// configuration, which every node of the cluster shares.
func mintToken(t *testing.T, root string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "scripts/deploy/compose/node1.json"))
	if err != nil {
		t.Fatalf("read compose config: %v", err)
	}
	var cfg struct {
		Security struct {
			JWTSecret string `json:"jwt_secret"`
		} `json:"security"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("decode compose config: %v", err)
	}
	token, err := api.MintToken([]byte(cfg.Security.JWTSecret), "dockertest",
		[]string{string(api.PermAdmin)}, 10*time.Minute)
	if err != nil {
		t.Fatalf("mint token: %v", err)
	}
	return token
}

// waitHealthy polls node1's /health until it answers 200.
func waitHealthy(t *testing.T, base string) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second}
	last := errors.New("no answer yet")
	poll(t, 60*time.Second, "node1 /health", func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/health", nil)
		if err != nil {
			t.Fatalf("health request: %v", err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			last = err
			return false
		}
		resp.Body.Close()
		last = fmt.Errorf("status %d", resp.StatusCode)
		return resp.StatusCode == http.StatusOK
	}, func() error { return last })
}

// clusterStatus is the part of GET /v1/admin/cluster the test reads.
type clusterStatus struct {
	Leader string `json:"leader"`
	Nodes  []struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Alive  bool   `json:"alive"`
		Leader bool   `json:"leader"`
	} `json:"nodes"`
}

// status fetches and decodes the cluster status through c.
func status(ctx context.Context, c *client.Client) (clusterStatus, error) {
	raw, err := c.ClusterStatus(ctx)
	if err != nil {
		return clusterStatus{}, err
	}
	var st clusterStatus
	if err := json.Unmarshal(raw, &st); err != nil {
		return clusterStatus{}, fmt.Errorf("decode cluster status: %w", err)
	}
	return st, nil
}

// waitMembers waits until every service is an active, alive member and a
// leader is known, so the upload is placed on all three nodes.
func waitMembers(t *testing.T, c *client.Client) {
	t.Helper()
	last := errors.New("no answer yet")
	poll(t, 60*time.Second, "3 active members", func(ctx context.Context) bool {
		st, err := status(ctx, c)
		if err != nil {
			last = err
			return false
		}
		last = fmt.Errorf("status %+v", st)
		ready := map[string]bool{}
		for _, n := range st.Nodes {
			ready[n.ID] = n.Alive && n.State == "active"
		}
		for _, name := range services {
			if !ready[name] {
				return false
			}
		}
		return st.Leader != ""
	}, func() error { return last })
}

// poll calls check every pollEvery until it returns true, and fails the
// test with what and lastErr's answer when limit passes first.
func poll(t *testing.T, limit time.Duration, what string,
	check func(context.Context) bool, lastErr func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !check(ctx) {
		select {
		case <-ctx.Done():
			t.Fatalf("wait for %s: none within %v: %v", what, limit, lastErr())
		case <-tick.C:
		}
	}
}

// upload puts payload through c and checks the hash the node reports.
func upload(t *testing.T, c *client.Client, payload []byte) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	start := time.Now()
	f, err := c.Put(ctx, client.Upload{
		EntityType: "ticket",
		EntityID:   "DOCKER-1",
		Filename:   "payload.bin",
		Body:       bytes.NewReader(payload),
	})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	sum := sha256.Sum256(payload)
	if want := hex.EncodeToString(sum[:]); f.FileHash != want || f.Size != int64(len(payload)) {
		t.Fatalf("upload: got hash %s size %d, want %s size %d",
			f.FileHash, f.Size, want, len(payload))
	}
	t.Logf("uploaded %d bytes as %s in %v", len(payload), f.ID, since(start))
	return f.ID
}

// download fetches id through c and compares it with want. A 503 (no
// quorum or no reachable copy yet) is retried until the deadline, as the
// API asks of clients; any other error fails at once.
func download(t *testing.T, c *client.Client, id string, want []byte, when string) {
	t.Helper()
	start := time.Now()
	var got bytes.Buffer
	last := errors.New("no answer yet")
	poll(t, 60*time.Second, "download "+when, func(ctx context.Context) bool {
		got.Reset()
		_, err := c.Get(ctx, id, &got)
		var apiErr *client.Error
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable {
			last = err
			return false
		}
		if err != nil {
			t.Fatalf("download %s: %v", when, err)
		}
		return true
	}, func() error { return last })
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("download %s: got %d bytes that differ from the %d uploaded",
			when, got.Len(), len(want))
	}
	t.Logf("downloaded %d identical bytes %s in %v", got.Len(), when, since(start))
}

// pickVictim chooses, with rng, one of node2 and node3 that is not the
// Raft leader: node1 serves the test's requests and must stay up, and
// killing a follower leaves the leader and its quorum of two in place.
func pickVictim(t *testing.T, c *client.Client, rng *rand.Rand) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	st, err := status(ctx, c)
	if err != nil {
		t.Fatalf("cluster status: %v", err)
	}
	var eligible []string
	for _, name := range services[1:] {
		if name != st.Leader {
			eligible = append(eligible, name)
		}
	}
	t.Logf("leader is %s", st.Leader)
	return eligible[rng.IntN(len(eligible))]
}

// since is the time elapsed from start, rounded for logs.
func since(start time.Time) time.Duration {
	return time.Since(start).Round(time.Millisecond)
}
