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
//
// With -free-ports N it only prints N distinct ports free on 127.0.0.1
// (each bound with port 0 by the kernel, then released), which
// scripts/demo.sh writes into the nodes' configuration files.
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
	"net"
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
		dataDirs = flag.String("data", "",
			"data directories of the nodes, comma separated and in -url order, for bytes on disk")
		free = flag.Int("free-ports", 0, "print this many free loopback ports, one a line, and exit")
	)
	flag.Parse()
	if *free > 0 {
		if err := printFreePorts(*free); err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		return
	}
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

// live returns the clients still usable, all but the killed node's, and
// their URLs. Until the kill is recorded the killed node's client is
// still among them.
func (d *demo) live() ([]*client.Client, []string) {
	var cs []*client.Client
	var urls []string
	for i, c := range d.clients {
		if d.killed.Load() && d.urls[i] == d.killURL {
			continue
		}
		cs, urls = append(cs, c), append(urls, d.urls[i])
	}
	return cs, urls
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
		ref, err := d.retry(i, func(c *client.Client) (client.File, error) {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return client.File{}, err
			}
			return c.Put(context.Background(), client.Upload{EntityType: "demo",
				EntityID: "pass-" + strconv.Itoa(pass+1), Filename: filepath.Base(e.path), Body: f})
		})
		if err != nil {
			return fmt.Errorf("upload %s: %w", e.path, err)
		}
		e.ids[pass] = ref.ID
		return nil
	})
}

// retry runs op through a live node, picked by i, and repeats it a few
// times when the answer may change: a 503, or any failure of a request
// that went to the node killed meanwhile (it may have died mid-request;
// the next attempt goes to a live node). Other errors end it at once.
func (d *demo) retry(i int, op func(c *client.Client) (client.File, error)) (client.File, error) {
	var err error
	for attempt := range 5 {
		cs, urls := d.live()
		var f client.File
		if f, err = op(cs[i%len(cs)]); err == nil {
			return f, nil
		}
		var ce *client.Error
		unavailable := errors.As(err, &ce) && ce.Status == http.StatusServiceUnavailable
		if !unavailable && !(d.killed.Load() && urls[i%len(urls)] == d.killURL) {
			return f, err
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
	return client.File{}, err
}

// kill marks the node killed, so no new request goes to it, then sends
// SIGKILL. Marking first means a request that fails because of the kill
// always finds it recorded and is retried elsewhere.
func (d *demo) kill() {
	fmt.Printf("killing pid %d (%s) with SIGKILL halfway through pass 1\n", d.killPID, d.killURL)
	d.killed.Store(true)
	if err := syscall.Kill(d.killPID, syscall.SIGKILL); err != nil {
		fmt.Fprintln(os.Stderr, "demo: kill:", err)
	}
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
		cs, _ := d.live()
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
// the bytes on disk of every data directory, split into chunk packs and
// metadata.
func (d *demo) report(files int, logical int64, dataDirs string) error {
	m, err := d.metrics()
	if err != nil {
		return err
	}
	stored := int64(m["attachments_stored_bytes"])
	refLogical := int64(m["attachments_logical_bytes"])
	refs := int64(m["attachments_ref_count"])
	fmt.Printf("files:          %d (uploaded twice: %d references)\n", files, refs)
	if extra := refs - 2*int64(files); extra > 0 && d.killed.Load() {
		fmt.Printf("                (%d more than twice the files: uploads whose answer "+
			"the kill cut off had committed, and their retry added a reference)\n", extra)
	}
	fmt.Printf("logical bytes:  %d (tree %d, twice)\n", refLogical, logical)
	fmt.Printf("stored bytes:   %d (distinct chunks, counted once)\n", stored)
	if stored > 0 {
		fmt.Printf("dedup ratio:    %.2f (logical / stored)\n", float64(refLogical)/float64(stored))
	}
	var dirs []string
	for _, dir := range strings.Split(dataDirs, ",") {
		if dir != "" {
			dirs = append(dirs, dir)
		}
	}
	if len(dirs) > 0 {
		printDisk(dirs, stored, d.killedDir(dirs))
	}
	return nil
}

// killedDir returns the data directory of the killed node, when dirs
// lists one per URL in the same order, else "".
func (d *demo) killedDir(dirs []string) string {
	if !d.killed.Load() || len(dirs) != len(d.urls) {
		return ""
	}
	for i, u := range d.urls {
		if u == d.killURL {
			return dirs[i]
		}
	}
	return ""
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

// printFreePorts prints n distinct ports the kernel handed out for
// 127.0.0.1:0, holding each until all are chosen so none repeats. The gossip
// port of a node also needs UDP; a clash there shows as a node that fails
// to start, with the reason in its log.
func printFreePorts(n int) error {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("free ports: %w", err)
		}
		held = append(held, ln)
		fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	}
	return nil
}
