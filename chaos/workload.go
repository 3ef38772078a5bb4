package chaos

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/helixtrack/attachments/api/client"
)

// Target is a node uploads may go through.
type Target struct {
	Name   string
	Client *client.Client
}

// Workload uploads generated files through a set of targets and records
// every upload answered 201 in a Ledger. The files come from a seeded
// generator: the same seed gives the same files in the same order per
// uploader, though which of them a fault interrupts depends on timing.
type Workload struct {
	// Seed drives the file generator and the choice of target.
	Seed uint64
	// Targets are the nodes to upload through, in turn.
	Targets []Target
	// Ledger receives every acknowledged upload.
	Ledger *Ledger
	// RetryFor bounds how long one upload is retried while the cluster
	// answers 503; 0 means 30 seconds.
	RetryFor time.Duration
}

// RunStats are the outcome of a Run.
type RunStats struct {
	// Acked counts uploads answered 201.
	Acked int
	// Retries counts 503 answers that were retried.
	Retries int
	// Slowest is the longest time one acknowledged upload took, retries
	// included: how long a fault stalled a client.
	Slowest time.Duration
	// Failures holds every upload that failed otherwise: an answer other
	// than 201 or 503, a transport error, or 503 for longer than RetryFor.
	Failures []error
}

// Run starts uploaders goroutines, each uploading one file after another
// until ctx ends, and returns when all have stopped. An upload cut short
// by ctx counts neither as acknowledged nor as failed.
func (w *Workload) Run(ctx context.Context, uploaders int) RunStats {
	var mu sync.Mutex
	var total RunStats
	var wg sync.WaitGroup
	for u := range uploaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := w.uploader(ctx, u)
			mu.Lock()
			total.Acked += st.Acked
			total.Retries += st.Retries
			total.Slowest = max(total.Slowest, st.Slowest)
			total.Failures = append(total.Failures, st.Failures...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total
}

// uploader is one uploading goroutine's loop.
func (w *Workload) uploader(ctx context.Context, u int) RunStats {
	var st RunStats
	gen := NewGenerator(w.Seed, uint64(u))
	for seq := 0; ctx.Err() == nil; seq++ {
		body := gen.Next()
		t := w.Targets[(u+seq)%len(w.Targets)]
		start := time.Now()
		id, retries, err := w.put(ctx, t, body, "u"+strconv.Itoa(u))
		st.Retries += retries
		switch {
		case ctx.Err() != nil:
			// Cut short by the caller; the outcome is unknown and not asked.
		case err != nil:
			st.Failures = append(st.Failures, fmt.Errorf("upload %d.%d via %s: %w", u, seq, t.Name, err))
		default:
			st.Acked++
			st.Slowest = max(st.Slowest, time.Since(start))
			w.Ledger.Record(Ack{ID: id, Via: t.Name, Body: body})
		}
	}
	return st
}

// put uploads body through t, retrying while the answer is 503, and
// returns the new reference id and how many retries it took.
func (w *Workload) put(ctx context.Context, t Target, body []byte,
	entity string) (string, int, error) {
	retryFor := w.RetryFor
	if retryFor == 0 {
		retryFor = 30 * time.Second
	}
	deadline := time.Now().Add(retryFor)
	for retries, wait := 0, 50*time.Millisecond; ; retries++ {
		f, err := t.Client.Put(ctx, client.Upload{EntityType: "chaos", EntityID: entity,
			Filename: "f.bin", Body: bytes.NewReader(body)})
		if err == nil {
			return f.ID, retries, nil
		}
		var ce *client.Error
		if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable ||
			time.Now().After(deadline) {
			return "", retries, err
		}
		select {
		case <-ctx.Done():
			return "", retries, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Generator makes the files of one uploader: most are fresh random bytes,
// some repeat an earlier file exactly (deduplicated whole) and some are an
// earlier file with a few bytes changed in the middle (sharing most of its
// chunks). Sizes run from a few bytes to about 1.5 MiB, so many files span
// several chunks. It is not safe for concurrent use.
type Generator struct {
	rng  *rand.Rand
	past [][]byte
}

// NewGenerator returns the generator of stream number stream under seed.
func NewGenerator(seed, stream uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, stream))}
}

// Next returns the next file; the caller owns it.
func (g *Generator) Next() []byte {
	var body []byte
	switch k := g.rng.IntN(10); {
	case k < 2 && len(g.past) > 0:
		body = append([]byte(nil), g.past[g.rng.IntN(len(g.past))]...)
	case k < 4 && len(g.past) > 0:
		body = append([]byte(nil), g.past[g.rng.IntN(len(g.past))]...)
		for range 4 {
			if len(body) > 0 {
				body[len(body)/3+g.rng.IntN(len(body)/3+1)] ^= byte(1 + g.rng.IntN(255))
			}
		}
	default:
		body = g.random(g.size())
	}
	if len(g.past) < 16 {
		g.past = append(g.past, body)
	}
	return body
}

// random returns n random bytes, eight per draw.
func (g *Generator) random(n int) []byte {
	b := make([]byte, n+8)
	for i := 0; i < n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], g.rng.Uint64())
	}
	return b[:n:n]
}

// size draws a file size: a third under 4 KiB, a third up to 256 KiB
// (one chunk), a third up to 1.5 MiB (several chunks).
func (g *Generator) size() int {
	switch g.rng.IntN(3) {
	case 0:
		return 1 + g.rng.IntN(4<<10)
	case 1:
		return 4<<10 + g.rng.IntN(252<<10)
	default:
		return 256<<10 + g.rng.IntN(1280<<10)
	}
}
