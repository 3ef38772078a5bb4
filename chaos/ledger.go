package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/helixtrack/attachments/api/client"
)

// maxReported bounds how many failures Verify lists, so one broken node
// does not print thousands of lines.
const maxReported = 10

// Ack is one upload the cluster answered 201: the reference it returned,
// the node that took it and the bytes sent.
type Ack struct {
	ID   string
	Via  string
	Body []byte
}

// Ledger records acknowledged uploads: the writes invariant 1 of the
// design promises to keep. It is safe for concurrent use.
type Ledger struct {
	mu   sync.Mutex // guards acks
	acks []Ack
}

// Record adds a; the ledger keeps a.Body, which the caller must not
// change afterwards.
func (l *Ledger) Record(a Ack) {
	l.mu.Lock()
	l.acks = append(l.acks, a)
	l.mu.Unlock()
}

// Len returns how many uploads are recorded.
func (l *Ledger) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// Acks returns a copy of the records, oldest first.
func (l *Ledger) Acks() []Ack {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Ack(nil), l.acks...)
}

// Verify downloads every recorded upload through c, with workers requests
// at a time, and compares the bytes with those sent. A download answered
// 503 is retried a few times; any other failure counts at once. It returns nil when
// every one matches, else an error listing the first failures and how
// many there were in all.
func (l *Ledger) Verify(ctx context.Context, c *client.Client, workers int) error {
	acks := l.Acks()
	jobs := make(chan Ack)
	var mu sync.Mutex
	var errs []error
	failed := 0
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				if err := check(ctx, c, a); err != nil {
					mu.Lock()
					if failed++; failed <= maxReported {
						errs = append(errs, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, a := range acks {
		jobs <- a
	}
	close(jobs)
	wg.Wait()
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("verify: %d of %d uploads failed:\n%w", failed, len(acks), errors.Join(errs...))
}

// readRetries bounds how often check asks again after a 503: a node may
// answer so while the metadata group elects a leader, and the read is as
// good once it has one. Any other failure is final.
const readRetries = 10

// check downloads one upload and compares it with the bytes sent.
func check(ctx context.Context, c *client.Client, a Ack) error {
	var buf bytes.Buffer
	buf.Grow(len(a.Body))
	var err error
	for attempt, wait := 0, 100*time.Millisecond; ; attempt, wait = attempt+1, 2*wait {
		buf.Reset()
		_, err = c.Get(ctx, a.ID, &buf)
		var ce *client.Error
		if err == nil || attempt == readRetries ||
			!errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("download %s (uploaded via %s): %w", a.ID, a.Via, ctx.Err())
		case <-time.After(min(wait, time.Second)):
		}
	}
	if err != nil {
		return fmt.Errorf("download %s (uploaded via %s): %w", a.ID, a.Via, err)
	}
	if !bytes.Equal(buf.Bytes(), a.Body) {
		return fmt.Errorf("download %s (uploaded via %s): got %d bytes, want %d, not identical",
			a.ID, a.Via, buf.Len(), len(a.Body))
	}
	return nil
}
