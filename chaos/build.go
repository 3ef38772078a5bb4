package chaos

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// mainPackage is the import path of the node binary.
const mainPackage = "github.com/helixtrack/attachments/cmd/attachments"

// Build compiles the attachments binary into dir and returns its path.
// It runs `go build` in the current directory, which must lie inside the
// module (a test's working directory does). The binary is built with
// CGO_ENABLED=0 and without the race detector whatever the caller was
// built with: the processes under test are the release build, and the
// detector would only slow them down. The compiler's output is part of
// the error.
func Build(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "attachments")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, mainPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", mainPackage, err, msg)
	}
	return out, nil
}
