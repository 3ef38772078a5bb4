package meta

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
)

// TestMapRaftError pins how each hashicorp/raft error reaches callers:
// "never appended" errors become ErrNotLeader (safe to retry elsewhere),
// "outcome unknown" errors ErrTimeout, shutdown ErrClosed; the raft error
// stays inspectable, and errors already ours or unknown pass unchanged.
func TestMapRaftError(t *testing.T) {
	cases := []struct {
		in   error
		want error
	}{
		{raft.ErrNotLeader, ErrNotLeader},
		{raft.ErrLeadershipTransferInProgress, ErrNotLeader},
		{raft.ErrLeadershipLost, ErrTimeout},
		{raft.ErrEnqueueTimeout, ErrTimeout},
		{raft.ErrAbortedByRestore, ErrTimeout},
		{raft.ErrRaftShutdown, ErrClosed},
		{fmt.Errorf("wrapped: %w", raft.ErrNotLeader), ErrNotLeader},
	}
	for _, tc := range cases {
		got := mapRaftError(tc.in)
		if !errors.Is(got, tc.want) || !errors.Is(got, tc.in) {
			t.Errorf("mapRaftError(%v) = %v; want it to wrap %v and the original",
				tc.in, got, tc.want)
		}
	}

	for _, same := range []error{ErrTimeout, fmt.Errorf("ctx: %w", ErrClosed),
		errors.New("disk on fire")} {
		if got := mapRaftError(same); got != same {
			t.Errorf("mapRaftError(%v) = %v, want it unchanged", same, got)
		}
	}
	if got := mapRaftError(raft.ErrNothingNewToSnapshot); errors.Is(got, ErrNotLeader) ||
		errors.Is(got, ErrTimeout) || errors.Is(got, ErrClosed) {
		t.Errorf("an unrelated raft error gained a sentinel: %v", got)
	}
}
