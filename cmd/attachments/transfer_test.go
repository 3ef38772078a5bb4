package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/helixtrack/attachments/api/client"
)

// writeFile writes data to name under dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dirNames lists the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// listJSON runs ls --json and decodes its array.
func listJSON(t *testing.T, r remote, entity string, extra ...string) []client.File {
	t.Helper()
	res := r.run(append([]string{"ls", entity, "--json"}, extra...)...)
	wantExit(t, res, exitOK)
	var files []client.File
	if err := json.Unmarshal([]byte(res.stdout), &files); err != nil {
		t.Fatalf("ls --json output is not an array of files: %v\n%s", err, res.stdout)
	}
	return files
}

func TestClientCommandsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 1))
	n := startNode(t, nodeConfig(t, t.TempDir()))
	r := remote{t: t, url: n.Addr(),
		token: mintToken(t, "alice", "read", "write", "delete")}
	src := t.TempDir()
	small := []byte("id,summary\n1,printer on fire\n")
	big := randomBytes(rng, progressThreshold+123_457) // over the bar's threshold
	fromStdin := []byte("typed into a pipe\n")

	// Two files in one put: ids in argument order; stderr stays empty
	// because it is not a terminal, even for the big file.
	res := r.run("put", writeFile(t, src, "a.csv", small), writeFile(t, src, "b.bin", big),
		"--entity", "ticket/T-1", "--description", "from the test")
	wantExit(t, res, exitOK)
	ids := lines(res.stdout)
	if len(ids) != 2 || res.stderr != "" {
		t.Fatalf("put of two files: stdout %q, stderr %q; want two ids and no stderr",
			res.stdout, res.stderr)
	}
	res = r.runIn(bytes.NewReader(fromStdin), "put", "-", "--filename", "notes.txt",
		"--entity", "ticket/T-1")
	wantExit(t, res, exitOK)
	ids = append(ids, lines(res.stdout)...)

	// ls follows the cursor across one-file pages.
	files := listJSON(t, r, "ticket/T-1", "--page-size", "1")
	gotIDs := make([]string, len(files))
	for i, f := range files {
		gotIDs[i] = f.ID
	}
	if !slices.Equal(gotIDs, ids) {
		t.Fatalf("ls --page-size 1: ids %v, want %v", gotIDs, ids)
	}
	wantFile := []struct {
		name, desc string
		size       int
	}{{"a.csv", "from the test", len(small)}, {"b.bin", "from the test", len(big)},
		{"notes.txt", "", len(fromStdin)}}
	for i, w := range wantFile {
		f := files[i]
		if f.Filename != w.name || f.Description != w.desc || f.Size != int64(w.size) ||
			f.EntityType != "ticket" || f.EntityID != "T-1" {
			t.Errorf("file %d: got %+v, want %s %q of %d bytes on ticket/T-1",
				i, f, w.name, w.desc, w.size)
		}
	}
	table := r.run("ls", "ticket/T-1")
	wantExit(t, table, exitOK)
	if rows := lines(table.stdout); len(rows) != 4 || !strings.HasPrefix(rows[0], "ID ") ||
		!strings.Contains(rows[2], ids[1]) || !strings.HasSuffix(rows[2], "b.bin") {
		t.Errorf("ls table: want a heading and three rows, b.bin second, got\n%s", table.stdout)
	}

	checkStat(t, r, ids[1], "b.bin", len(big))
	checkGet(t, r, ids, [][]byte{small, big, fromStdin})
	checkRemove(t, r, ids)
}

// checkStat runs stat on id and compares the JSON with what was uploaded.
func checkStat(t *testing.T, r remote, id, name string, size int) {
	t.Helper()
	res := r.run("stat", id)
	wantExit(t, res, exitOK)
	var f client.File
	if err := json.Unmarshal([]byte(res.stdout), &f); err != nil {
		t.Fatalf("stat output is not JSON: %v\n%s", err, res.stdout)
	}
	if f.ID != id || f.Filename != name || f.Size != int64(size) || len(f.FileHash) != 64 {
		t.Errorf("stat %s: got %+v, want %s of %d bytes with a SHA-256", id, f, name, size)
	}
}

// checkGet downloads every id to a file and to stdout.
func checkGet(t *testing.T, r remote, ids []string, want [][]byte) {
	t.Helper()
	out := t.TempDir()
	for i, id := range ids {
		path := filepath.Join(out, "copy")
		wantExit(t, r.run("get", id, "-o", path), exitOK)
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want[i]) {
			t.Errorf("get %s -o: %d bytes (err %v), want the %d uploaded",
				id, len(got), err, len(want[i]))
		}
		if names := dirNames(t, out); !slices.Equal(names, []string{"copy"}) {
			t.Errorf("after get -o, the directory holds %v, want only the file", names)
		}

		res := r.run("get", id)
		wantExit(t, res, exitOK)
		if res.stdout != string(want[i]) {
			t.Errorf("get %s to stdout: %d bytes differ from the %d uploaded",
				id, len(res.stdout), len(want[i]))
		}
	}
}

// checkRemove deletes ids[0] together with an unknown id, then checks that
// only the unknown one failed, and that a failed get leaves files alone.
func checkRemove(t *testing.T, r remote, ids []string) {
	t.Helper()
	res := r.run("rm", ids[0], "no-such-ref")
	wantExit(t, res, exitRuntime, "attachments rm: not found: no-such-ref")
	if strings.Contains(res.stderr, ids[0]) {
		t.Errorf("rm reported the existing id as failed: %s", res.stderr)
	}

	out := t.TempDir()
	keep := writeFile(t, out, "kept.txt", []byte("older content"))
	wantExit(t, r.run("get", ids[0], "-o", keep), exitRuntime,
		"attachments get: not found: "+ids[0])
	if got, _ := os.ReadFile(keep); string(got) != "older content" {
		t.Errorf("failed get -o changed the file to %q", got)
	}
	if names := dirNames(t, out); !slices.Equal(names, []string{"kept.txt"}) {
		t.Errorf("failed get -o left %v, want only kept.txt", names)
	}
	wantExit(t, r.run("stat", ids[0]), exitRuntime, "attachments stat: not found: "+ids[0])
	if files := listJSON(t, r, "ticket/T-1"); len(files) != len(ids)-1 {
		t.Errorf("ls after rm: %d files, want %d", len(files), len(ids)-1)
	}
}

func TestEnvironmentSuppliesURLAndToken(t *testing.T) {
	n := startNode(t, nodeConfig(t, t.TempDir()))
	t.Setenv(envURL, n.Addr())
	t.Setenv(envToken, mintToken(t, "bob", "read", "write"))

	res := invokeIn(t, strings.NewReader("env\n"), "put", "-", "--filename", "e.txt",
		"--entity", "doc/D-1")
	wantExit(t, res, exitOK)
	id := strings.TrimSpace(res.stdout)
	wantExit(t, invokeIn(t, nil, "stat", id), exitOK)

	// Flags win over the environment.
	t.Setenv(envURL, "http://127.0.0.1:1")
	t.Setenv(envToken, "not-a-token")
	res = invokeIn(t, nil, "get", id, "--url", n.Addr(),
		"--token", mintToken(t, "bob", "read"))
	wantExit(t, res, exitOK)
	if res.stdout != "env\n" {
		t.Errorf("get with flags over a bad environment: %q, want %q", res.stdout, "env\n")
	}
	wantExit(t, invokeIn(t, nil, "stat", id, "--url", n.Addr()), exitRuntime,
		"attachments stat: stat "+id+": 401 unauthorized")
}

func TestPermissionErrorsAreRuntimeErrors(t *testing.T) {
	n := startNode(t, nodeConfig(t, t.TempDir()))
	reader := remote{t: t, url: n.Addr(), token: mintToken(t, "carol", "read")}

	res := reader.runIn(strings.NewReader("x"), "put", "-", "--filename", "x",
		"--entity", "ticket/T-9")
	wantExit(t, res, exitRuntime, "attachments put: put -: 403 forbidden")
	if res.stdout != "" {
		t.Errorf("refused put printed %q", res.stdout)
	}
	wantExit(t, reader.run("cluster", "status"), exitRuntime, "403 forbidden")
	wantExit(t, reader.run("node", "drain", "some-node"), exitRuntime, "403 forbidden")
	wantExit(t, reader.run("ls", "ticket/bad id"), exitRuntime, "400 bad_request")
}

// cancelOnWrite cancels a context on its first Write, as an interrupt
// arriving in the middle of a download would.
type cancelOnWrite struct{ cancel context.CancelFunc }

func (c cancelOnWrite) Write(p []byte) (int, error) {
	c.cancel()
	return len(p), nil
}

func TestInterruptedDownloadLeavesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 4))
	n := startNode(t, nodeConfig(t, t.TempDir()))
	r := remote{t: t, url: n.Addr(), token: mintToken(t, "alice", "read", "write")}
	// Hundreds of times the 32 KiB io.Copy moves at once, so the
	// cancellation takes effect in the middle of the body even when the
	// machine is busy and the client's transport reads ahead.
	res := r.run("put", writeFile(t, t.TempDir(), "big", randomBytes(rng, 16<<20)),
		"--entity", "ticket/T-5")
	wantExit(t, res, exitOK)
	id := strings.TrimSpace(res.stdout)

	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := client.New(r.url, r.token, nil)
	err := downloadFile(ctx, c, id, filepath.Join(out, "big"), cancelOnWrite{cancel})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("interrupted download: error %v, want context.Canceled", err)
	}
	if names := dirNames(t, out); len(names) != 0 {
		t.Errorf("interrupted download left %v", names)
	}
}
