package main

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its terminal side, and a
// function that closes both sides and returns everything written to the
// terminal side.
func openPTY(t *testing.T) (*os.File, func() string) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("open pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatalf("unlock pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Fatalf("pseudo-terminal number: %v", err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatalf("open terminal side: %v", err)
	}

	// The reader drains the terminal, so that writes to it never block.
	var got bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(&got, master) // ends with EIO once the terminal side is closed
	}()
	finish := func() string {
		tty.Close()
		<-done
		master.Close()
		return got.String()
	}
	return tty, finish
}

func TestTransfersDrawProgressOnATerminal(t *testing.T) {
	rng := rand.New(rand.NewPCG(testSeed(t), 3))
	n := startNode(t, nodeConfig(t, t.TempDir()))
	r := remote{t: t, url: n.Addr(), token: mintToken(t, "alice", "read", "write")}
	data := randomBytes(rng, progressThreshold+1)
	path := writeFile(t, t.TempDir(), "big.bin", data)

	tty, finish := openPTY(t)
	var out bytes.Buffer
	code := run(context.Background(), []string{"put", path, "--entity", "ticket/T-3",
		"--url", r.url, "--token", r.token}, nil, &out, tty)
	id := strings.TrimSpace(out.String())
	out.Reset()
	getCode := run(context.Background(), []string{"get", id,
		"--url", r.url, "--token", r.token}, nil, &out, tty)
	drawn := finish()

	if code != exitOK || getCode != exitOK {
		t.Fatalf("put exited %d, get exited %d; terminal showed %q", code, getCode, drawn)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Errorf("get to stdout: %d bytes differ from the %d put", out.Len(), len(data))
	}
	for _, want := range []string{"put big.bin 100%", "get " + id + " 100%", "4.2/4.2 MB"} {
		if !strings.Contains(drawn, want) {
			t.Errorf("terminal output %q lacks %q", drawn, want)
		}
	}
}
