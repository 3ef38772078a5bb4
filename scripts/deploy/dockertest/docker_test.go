package dockertest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/chaos"
)

// builtBinary is the Dockerfile's source path of the node binary; the test
// compiles it instead of copying whatever bin/ holds.
const builtBinary = "bin/attachments"

// run executes name with args under ctx and returns its combined output.
// A failure's error carries the command line and the output, so a test can
// report it as is.
func run(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s",
			name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// requireDocker skips the test unless a Docker engine answers and a compose
// command exists; it returns that compose command ("docker compose" or
// "docker-compose") as a program and its leading arguments.
func requireDocker(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("skipping: no docker command in PATH")
	}
	if out, err := run(ctx, os.Environ(), "docker", "info"); err != nil {
		t.Skipf("skipping: `docker info` failed, no usable Docker engine: %s",
			lastLine(out, err))
	}
	if _, err := run(ctx, os.Environ(), "docker", "compose", "version"); err == nil {
		return []string{"docker", "compose"}
	}
	if _, err := run(ctx, os.Environ(), "docker-compose", "version"); err == nil {
		return []string{"docker-compose"}
	}
	t.Skip("skipping: neither `docker compose` nor `docker-compose` works")
	return nil
}

// lastLine returns the last non-empty line of a command's output, which
// is where docker says why it failed, or err's text if there is none.
func lastLine(out string, err error) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return last
	}
	return err.Error()
}

// repoRoot returns the module root: the nearest directory above the test's
// working directory that holds go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("repo root: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}

// uniqueSuffix returns 12 random lowercase hex digits, valid in image tags
// and compose project names alike.
func uniqueSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("unique suffix: %v", err)
	}
	return hex.EncodeToString(b)
}

// buildImage compiles the node binary into a fresh build context, adds the
// Dockerfile and every other source it copies from the repository, builds
// the image as tag and removes the image when the test ends.
func buildImage(t *testing.T, root, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()

	start := time.Now()
	binDir := filepath.Join(dir, filepath.Dir(builtBinary))
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatalf("build binary: %v", err)
	}
	if _, err := chaos.Build(ctx, binDir); err != nil {
		t.Fatalf("build binary: %v", err)
	}
	t.Logf("built the binary in %v", time.Since(start).Round(time.Millisecond))
	if err := fillContext(root, dir); err != nil {
		t.Fatalf("build context: %v", err)
	}

	start = time.Now()
	t.Cleanup(func() { removeImage(t, tag) })
	if _, err := run(ctx, os.Environ(), "docker", "build", "-t", tag, dir); err != nil {
		t.Fatalf("docker build: %v", err)
	}
	t.Logf("built image %s in %v", tag, time.Since(start).Round(time.Millisecond))
}

// removeImage deletes tag; a failure is a test error, since it leaves an
// image behind on the machine.
func removeImage(t *testing.T, tag string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := run(ctx, os.Environ(), "docker", "rmi", "-f", tag); err != nil {
		t.Errorf("cleanup: remove image: %v", err)
	}
}

// fillContext copies root's Dockerfile into dir, with every source its COPY
// instructions name except the binary, which the caller built. Copying only
// those keeps the context small and the test in step with the Dockerfile.
func fillContext(root, dir string) error {
	dockerfile := filepath.Join(root, "Dockerfile")
	sources, err := copySources(dockerfile)
	if err != nil {
		return err
	}
	if err := copyTree(dockerfile, filepath.Join(dir, "Dockerfile")); err != nil {
		return err
	}
	for _, src := range sources {
		if src == builtBinary {
			continue
		}
		if err := copyTree(filepath.Join(root, src), filepath.Join(dir, src)); err != nil {
			return err
		}
	}
	return nil
}

// copySources lists the context paths named by the COPY instructions of a
// Dockerfile: every argument but the flags and the destination. It reads
// the one-line form the repository's Dockerfile uses, not JSON arrays or
// line continuations.
func copySources(dockerfile string) ([]string, error) {
	f, err := os.Open(dockerfile)
	if err != nil {
		return nil, fmt.Errorf("read dockerfile: %w", err)
	}
	defer f.Close()

	var sources []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 || !strings.EqualFold(fields[0], "COPY") {
			continue
		}
		for _, arg := range fields[1 : len(fields)-1] {
			if !strings.HasPrefix(arg, "--") {
				sources = append(sources, filepath.Clean(arg))
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read dockerfile: %w", err)
	}
	if len(sources) == 0 {
		return nil, errors.New("read dockerfile: no COPY sources found")
	}
	return sources, nil
}

// copyTree copies the file or directory src to dst, creating parents.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(path, target)
	})
}

// copyFile copies one regular file, keeping its permission bits.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy file: %w", err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("copy file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("copy file: %w", err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("copy file: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy file %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy file %s: %w", src, err)
	}
	return nil
}
