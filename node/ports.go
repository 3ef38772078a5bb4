package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// listenInRange binds host:port, or, when that port is in use, the first
// free port of the inclusive range rng. Port 0 binds any free port (tests).
// Errors other than "address in use" stop the search at once: they will not
// get better on the next port.
func listenInRange(host string, port int, rng [2]int) (net.Listener, error) {
	candidates := []int{port}
	for p := rng[0]; p > 0 && p <= rng[1]; p++ {
		if p != port {
			candidates = append(candidates, p)
		}
	}
	var last error
	for _, p := range candidates {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("listen on %s:%d: %w", host, p, err)
		}
		last = err
	}
	return nil, fmt.Errorf("listen: port %d and range %d-%d all in use: %w", port, rng[0], rng[1], last)
}

// nodeIDFile holds the node's identity under its data directory, so a
// restarted node rejoins as the same member.
const nodeIDFile = "node_id"

// loadNodeID returns the configured id, else the one stored under dir, else
// a new random one, which it stores. A configured id that differs from the
// stored one is refused: the data belongs to another member.
func loadNodeID(dir, configured string) (string, error) {
	path := filepath.Join(dir, nodeIDFile)
	stored, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(stored))
		if configured != "" && configured != id {
			return "", fmt.Errorf("node id: config says %q but %s holds data of %q", configured, dir, id)
		}
		return id, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("node id: %w", err)
	}
	id := configured
	if id == "" {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("node id: %w", err)
		}
		id = "node-" + hex.EncodeToString(b[:])
	}
	if err := writeFileSync(path, []byte(id+"\n")); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// writeFileSync writes a small file durably: to a temporary name, fsynced,
// then renamed into place.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// cutParams splits "text/plain; charset=utf-8" into "text/plain" and the rest.
func cutParams(m string) (base, params string, found bool) {
	base, params, found = strings.Cut(m, ";")
	return strings.TrimSpace(base), strings.TrimSpace(params), found
}
