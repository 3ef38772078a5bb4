package chaos_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/helixtrack/attachments/chaos"
)

// binary is the attachments binary TestMain built for every test.
var binary string

var seedFlag = flag.Uint64("chaos.seed", 0, "seed of the upload generator (0: from the clock)")

// TestMain builds the node binary once for all tests, into a directory it
// removes afterwards. Under -short nothing is built: every test skips.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos: ", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	binary, err = chaos.Build(ctx, dir)
	cancel()
	if err != nil {
		os.RemoveAll(dir)
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// seed returns the generator seed for a test and logs it, so a failing
// run can be replayed with -chaos.seed.
func seed(t *testing.T) uint64 {
	t.Helper()
	s := *seedFlag
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay the uploads with -chaos.seed=%d)", s, s)
	return s
}
