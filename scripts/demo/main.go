// Command demo uploads a real directory tree to a running node twice,
// under two different entities, downloads every file through the API and
// compares the bytes, and prints what deduplication saved. scripts/demo.sh
// starts the node and runs it; run it directly against any node with
//
//	go run ./scripts/demo -url http://127.0.0.1:8090 -token $TOKEN -src DIR
//
// With several -url values (comma separated) it spreads requests over the
// nodes, uploading through one and downloading through another. With
// -kill-pid it sends SIGKILL to that process once half the files are
// uploaded, and from then on skips the URL given by -kill-url.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/helixtrack/attachments/api/client"
)

func main() {
	var (
		urls     = flag.String("url", "http://127.0.0.1:8090", "node API URLs, comma separated")
		token    = flag.String("token", os.Getenv("ATTACHMENTS_TOKEN"), "bearer token (read, write)")
		src      = flag.String("src", "", "directory tree to upload")
		workers  = flag.Int("workers", 8, "concurrent requests")
		killPID  = flag.Int("kill-pid", 0, "SIGKILL this process halfway through the first pass")
		killURL  = flag.String("kill-url", "", "URL of the killed node, not used after the kill")
		dataDirs = flag.String("data", "", "data directories of the nodes, comma separated, for bytes on disk")
	)
	flag.Parse()
	if *src == "" || *token == "" {
		fmt.Fprintln(os.Stderr, "demo: -src and -token are required")
		os.Exit(2)
	}
	d := &demo{token: *token, workers: *workers, killPID: *killPID, killURL: *killURL}
	for _, u := range strings.Split(*urls, ",") {
		d.clients = append(d.clients, client.New(u, *token, nil))
		d.urls = append(d.urls, u)
	}
	if err := d.run(*src, *dataDirs); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type demo struct {
	token   string
	workers int
	urls    []string
	clients []*client.Client
	killPID int
	killURL string
	killed  atomic.Bool
}

// entry is one uploaded file: where it came from and its references.
type entry struct {
	path string
	size int64
	ids  [2]string
}

func (d *demo) run(src, dataDirs string) error {
	files, logical, err := listTree(src)
	if err != nil {
		return err
	}
	fmt.Printf("tree: %s: %d files, %d bytes\n", src, len(files), logical)

	start := time.Now()
	for pass := range 2 {
		if err := d.upload(files, pass); err != nil {
			return err
		}
		fmt.Printf("pass %d uploaded in %s\n", pass+1, time.Since(start).Round(time.Millisecond))
	}
	start = time.Now()
	if err := d.verify(files); err != nil {
		return err
	}
	fmt.Printf("downloaded and compared %d references in %s\n", 2*len(files),
		time.Since(start).Round(time.Millisecond))
	return d.report(len(files), logical, dataDirs)
}

// listTree returns the regular files under root, skipping symlinks and
// anything unreadable.
func listTree(root string) ([]*entry, int64, error) {
	var files []*entry
	var total int64
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return nil
		}
		files = append(files, &entry{path: p, size: info.Size()})
		total += info.Size()
		return nil
	})
	return files, total, err
}

// live returns the clients still usable: all but the killed node's.
func (d *demo) live() []*client.Client {
	var out []*client.Client
	for i, c := range d.clients {
		if d.killed.Load() && d.urls[i] == d.killURL {
			continue
		}
		out = append(out, c)
	}
	return out
}

// parallel runs fn for every index with d.workers goroutines and returns
// the first error.
func (d *demo) parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range d.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (d *demo) upload(files []*entry, pass int) error {
	var done atomic.Int64
	return d.parallel(len(files), func(i int) error {
		if pass == 0 && d.killPID != 0 && done.Add(1) == int64(len(files)/2) {
			d.kill()
		}
		e := files[i]
		f, err := os.Open(e.path)
		if err != nil {
			return err
		}
		defer f.Close()
		cs := d.live()
		c := cs[i%len(cs)]
		up := client.Upload{EntityType: "demo", EntityID: "pass-" + strconv.Itoa(pass+1),
			Filename: filepath.Base(e.path), Body: f}
		ref, err := retry(func() (client.File, error) {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return client.File{}, err
			}
			return c.Put(context.Background(), up)
		})
		if err != nil {
			return fmt.Errorf("upload %s: %w", e.path, err)
		}
		e.ids[pass] = ref.ID
		return nil
	})
}

// retry repeats an operation that failed with a retryable answer (503, or a
// connection refused while a killed node's clients move on) a few times.
func retry(op func() (client.File, error)) (client.File, error) {
	var err error
	for attempt := range 5 {
		var f client.File
		if f, err = op(); err == nil {
			return f, nil
		}
		var ce *client.Error
		if errors.As(err, &ce) && ce.Status != http.StatusServiceUnavailable {
			return f, err
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	return client.File{}, err
}

func (d *demo) kill() {
	fmt.Printf("killing pid %d (%s) with SIGKILL halfway through pass 1\n", d.killPID, d.killURL)
	syscall.Kill(d.killPID, syscall.SIGKILL)
	d.killed.Store(true)
}

// verify downloads both references of every file, each through a different
// node than the one that took the upload where there are several, and
// compares the bytes with the file on disk.
func (d *demo) verify(files []*entry) error {
	return d.parallel(len(files), func(i int) error {
		e := files[i]
		want, err := os.ReadFile(e.path)
		if err != nil {
			return err
		}
		cs := d.live()
		for pass, id := range e.ids {
			c := cs[(i+pass+1)%len(cs)]
			var buf bytes.Buffer
			if _, err := c.Get(context.Background(), id, &buf); err != nil {
				return fmt.Errorf("download %s (%s): %w", id, e.path, err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				return fmt.Errorf("download %s (%s): bytes differ", id, e.path)
			}
		}
		return nil
	})
}

// report prints the dedup figures from the first live node's metrics and
// the bytes on disk of the data directories.
func (d *demo) report(files int, logical int64, dataDirs string) error {
	m, err := d.metrics()
	if err != nil {
		return err
	}
	var disk int64
	for _, dir := range strings.Split(dataDirs, ",") {
		if dir != "" {
			disk += diskBytes(dir)
		}
	}
	stored := int64(m["attachments_stored_bytes"])
	refLogical := int64(m["attachments_logical_bytes"])
	fmt.Printf("files:          %d (uploaded twice: %d references)\n", files, int64(m["attachments_ref_count"]))
	fmt.Printf("logical bytes:  %d (tree %d, twice)\n", refLogical, logical)
	fmt.Printf("stored bytes:   %d (distinct chunks)\n", stored)
	if disk > 0 {
		fmt.Printf("bytes on disk:  %d (all data directories, metadata included)\n", disk)
	}
	if stored > 0 {
		fmt.Printf("dedup ratio:    %.2f (logical / stored)\n", float64(refLogical)/float64(stored))
	}
	return nil
}

// metrics fetches and parses the plain (unlabelled) gauges of /metrics.
func (d *demo) metrics() (map[string]float64, error) {
	for _, u := range d.urls {
		if d.killed.Load() && u == d.killURL {
			continue
		}
		resp, err := http.Get(u + "/metrics")
		if err != nil {
			continue
		}
		defer resp.Body.Close()
		out := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
				continue
			}
			if v, err := strconv.ParseFloat(val, 64); err == nil {
				out[name] = v
			}
		}
		return out, sc.Err()
	}
	return nil, fmt.Errorf("metrics: no node answered")
}

// diskBytes sums the allocated blocks of every file under dir.
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
