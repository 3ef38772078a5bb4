package dockertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/helixtrack/attachments/node/nodetest"
)

// stack is one compose project started from the repository's
// docker-compose.yml. Its project name is unique to the test run, so its
// containers, network and volumes collide with nothing else on the engine.
type stack struct {
	t       *testing.T
	compose []string // the compose program and its leading arguments
	file    string   // docker-compose.yml
	project string
	image   string
	port    int // host port of node1's API on 127.0.0.1
}

// projectLabel is the label compose puts on everything it creates.
const projectLabel = "com.docker.compose.project"

// env is the environment the compose file reads its variables from.
func (s *stack) env() []string {
	return append(os.Environ(),
		"ATTACHMENTS_IMAGE="+s.image,
		fmt.Sprintf("ATTACHMENTS_PORT=%d", s.port))
}

// run runs one compose subcommand of this project.
func (s *stack) run(ctx context.Context, args ...string) (string, error) {
	full := append(s.compose[1:len(s.compose):len(s.compose)],
		append([]string{"-f", s.file, "-p", s.project}, args...)...)
	return run(ctx, s.env(), s.compose[0], full...)
}

// up starts the cluster on a free loopback port and registers its removal.
// Another process may take the port between the probe and the bind, so a
// port clash is retried on a new port a few times.
func (s *stack) up() {
	s.t.Helper()
	s.t.Cleanup(s.down)
	s.t.Cleanup(s.logsIfFailed)
	for attempt := 1; ; attempt++ {
		s.port = nodetest.FreePort(s.t)
		ctx, cancel := context.WithTimeout(s.t.Context(), 90*time.Second)
		_, err := s.run(ctx, "up", "-d", "--no-build")
		cancel()
		if err == nil {
			return
		}
		if attempt == 3 || !portClash(err) {
			s.t.Fatalf("compose up: %v", err)
		}
		s.t.Logf("port %d was taken before compose bound it, retrying: %v", s.port, err)
		s.removeAll()
	}
}

// portClash reports whether a compose error is about the published port.
func portClash(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "port is already allocated") ||
		strings.Contains(msg, "address already in use")
}

// container returns the id of service's container.
func (s *stack) container(ctx context.Context, service string) (string, error) {
	out, err := s.run(ctx, "ps", "-q", service)
	if err != nil {
		return "", err
	}
	id := strings.TrimSpace(out)
	if id == "" || strings.ContainsAny(id, " \n") {
		return "", fmt.Errorf("container of %s: want one id, got %q", service, out)
	}
	return id, nil
}

// kill stops service's container with SIGKILL, as a crash would, and
// checks it stayed down. Its restart policy is cleared first: the compose
// file restarts nodes that die, and this one must stay dead.
func (s *stack) kill(ctx context.Context, service string) error {
	id, err := s.container(ctx, service)
	if err != nil {
		return err
	}
	if _, err := run(ctx, os.Environ(), "docker", "update", "--restart=no", id); err != nil {
		return err
	}
	if _, err := run(ctx, os.Environ(), "docker", "kill", id); err != nil {
		return err
	}
	out, err := run(ctx, os.Environ(), "docker", "inspect", "-f", "{{.State.Running}}", id)
	if err != nil {
		return err
	}
	if state := strings.TrimSpace(out); state != "false" {
		return fmt.Errorf("kill %s: container still running (%s)", service, state)
	}
	return nil
}

// logsIfFailed prints every container's log when the test has failed.
func (s *stack) logsIfFailed() {
	if !s.t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.run(ctx, "logs", "--no-color", "--timestamps")
	if err != nil {
		s.t.Logf("compose logs: %v", err)
		return
	}
	s.t.Logf("container logs of project %s:\n%s", s.project, out)
}

// down removes the project and checks that nothing of it is left.
func (s *stack) down() {
	s.removeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	filter := "label=" + projectLabel + "=" + s.project
	for _, kind := range []string{"container", "network", "volume"} {
		args := []string{kind, "ls", "-q", "--filter", filter}
		if kind == "container" {
			args = []string{"ps", "-a", "-q", "--filter", filter}
		}
		out, err := run(ctx, os.Environ(), "docker", args...)
		if err != nil {
			s.t.Errorf("cleanup: list %ss: %v", kind, err)
			continue
		}
		if left := strings.Fields(out); len(left) > 0 {
			s.t.Errorf("cleanup: %d %s(s) of project %s left: %v", len(left), kind, s.project, left)
		}
	}
}

// removeAll removes the project's containers, network and volumes.
func (s *stack) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := s.run(ctx, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
		s.t.Errorf("cleanup: compose down: %v", err)
	}
}
