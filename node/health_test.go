package node_test

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// healthDoc is the part of /health the tests read.
type healthDoc struct {
	Status string `json:"status"`
	Checks map[string]struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"checks"`
}

func (tn *testNode) health() (int, healthDoc) {
	tn.t.Helper()
	resp := tn.do("GET", "/health", "", nil, nil)
	defer resp.Body.Close()
	var doc healthDoc
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &doc); err != nil {
		tn.t.Fatalf("health body %q: %v", b, err)
	}
	return resp.StatusCode, doc
}

// TestHealthReportsStorageFault: when the storage probe cannot write
// beside the chunk packs, /health answers 503 and names the storage
// check, while the metadata check stays healthy; once the fault is gone,
// the node is healthy again. The fault is a directory squatting on the
// probe's temporary file name, which stops root as well as anyone.
func TestHealthReportsStorageFault(t *testing.T) {
	dir := t.TempDir()
	tn := startNode(t, testConfig(t, dir))
	if code, doc := tn.health(); code != 200 || doc.Status != "healthy" {
		t.Fatalf("health before the fault: %d %+v", code, doc)
	}

	squat := filepath.Join(dir, ".health-probe.tmp")
	if err := os.Mkdir(squat, 0o700); err != nil {
		t.Fatal(err)
	}
	code, doc := tn.health()
	storage, meta := doc.Checks["storage_primary"], doc.Checks["metadata"]
	if code != 503 || doc.Status != "unhealthy" || storage.Status != "unhealthy" ||
		storage.Error == "" || meta.Status != "healthy" {
		t.Fatalf("health with an unwritable probe: %d %+v", code, doc)
	}

	if err := os.Remove(squat); err != nil {
		t.Fatal(err)
	}
	if code, doc := tn.health(); code != 200 || doc.Checks["storage_primary"].Status != "healthy" {
		t.Fatalf("health after the fault cleared: %d %+v", code, doc)
	}
}
