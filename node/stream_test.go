package node_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// TestLargeUploadStreams uploads 256 MiB generated on the fly and downloads
// it again, sampling the heap meanwhile: neither direction may hold the
// file in memory.
func TestLargeUploadStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("uploads 256 MiB; skipped in -short mode")
	}
	cfg := testConfig(t, t.TempDir())
	cfg.Security.MaxFileSizeMB = 1024
	tn := startNode(t, cfg)
	tok := tn.token("alice", "read", "write")
	const size = 256 << 20

	stop := sampleHeap()
	pr, pw := io.Pipe()
	want := sha256.New()
	go func() {
		src := io.TeeReader(patternReader{rand.New(rand.NewPCG(5, 5))}, want)
		pw.CloseWithError(rawUpload(pw, src, size))
	}()
	req, _ := http.NewRequest("POST", tn.url+"/v1/files", pr)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+fixedBoundary)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var f fileJSON
	json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if resp.StatusCode != 201 || f.Size != size || f.FileHash != fmt.Sprintf("%x", want.Sum(nil)) {
		t.Fatalf("upload: %d %+v", resp.StatusCode, f)
	}

	resp = tn.do("GET", "/v1/files/"+f.ID+"/download", tok, nil, nil)
	got := sha256.New()
	n, err := io.Copy(got, resp.Body)
	resp.Body.Close()
	if err != nil || n != size || fmt.Sprintf("%x", got.Sum(nil)) != f.FileHash {
		t.Fatalf("download: %d bytes, err %v, hash match %v", n, err, fmt.Sprintf("%x", got.Sum(nil)) == f.FileHash)
	}
	p := stop()
	t.Logf("peak heap in use during 256 MiB upload and download: %d MiB", p>>20)
	if p > 96<<20 {
		t.Errorf("peak heap %d MiB: the file is being held in memory", p>>20)
	}
}

// sampleHeap samples HeapInuse every 20 ms until stop is called, which
// returns the peak.
func sampleHeap() (stop func() uint64) {
	var mu sync.Mutex
	var max uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			mu.Lock()
			max = maxU(max, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		return max
	}
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}
