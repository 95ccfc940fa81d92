package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binaries holds the paths of the binaries TestMain builds.
var binaries struct {
	issuer   string
	extauthz string
}

func TestMain(m *testing.M) {
	os.Exit(runWithBinaries(m))
}

// runWithBinaries builds cmd/issuer and cmd/extauthz into a temporary
// directory, runs the tests and removes the directory.
func runWithBinaries(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gatepass-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating the binary directory:", err)
		return 1
	}
	defer os.RemoveAll(dir)

	binaries.issuer = filepath.Join(dir, "issuer")
	binaries.extauthz = filepath.Join(dir, "extauthz")
	for path, pkg := range map[string]string{binaries.issuer: "../../cmd/issuer", binaries.extauthz: "../../cmd/extauthz"} {
		build := exec.Command("go", "build", "-o", path, pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}

// freeAddress returns a loopback address with a port that was free a
// moment ago.
func freeAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

// baseEnvironment is the environment of every child process: enough to run,
// and no GATEPASS_ variable inherited from the test's own environment.
func baseEnvironment() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
}

// process is a running binary whose output lines are kept for the test.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}

	mu      sync.Mutex
	lines   []string
	changed chan struct{}
	err     error
}

// startProcess runs binary with args and env and stops it when the test
// ends.
func startProcess(t *testing.T, name, binary string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(baseEnvironment(), env...)
	output, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}

	p := &process{name: name, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	go p.collect(output)
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output of %s:\n%s", name, p.output())
		}
	})
	return p
}

// collect reads output lines until the process exits.
func (p *process) collect(output io.Reader) {
	scanner := bufio.NewScanner(output)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		p.mu.Lock()
		p.lines = append(p.lines, scanner.Text())
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	close(p.done)
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitForLine blocks until an output line after the first skip lines
// contains text, and returns the number of lines seen so far.
func (p *process) waitForLine(t *testing.T, skip int, text string) int {
	t.Helper()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		p.mu.Lock()
		lines, changed := p.lines, p.changed
		p.mu.Unlock()
		for i := skip; i < len(lines); i++ {
			if strings.Contains(lines[i], text) {
				return len(lines)
			}
		}
		select {
		case <-changed:
		case <-p.done:
			t.Fatalf("%s exited before logging %q", p.name, text)
		case <-timeout.C:
			t.Fatalf("%s did not log %q within 30s", p.name, text)
		}
	}
}

// lineCount returns how many output lines arrived so far.
func (p *process) lineCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.lines)
}

// signal sends sig to the process.
func (p *process) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling %s: %v", p.name, err)
	}
}

// stop sends SIGTERM and waits for the process to exit, killing it if it
// takes longer than 20 seconds.
func (p *process) stop(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(20 * time.Second)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		t.Errorf("%s did not stop within 20s of SIGTERM, killing it", p.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// wait blocks until the process exits and returns its exit error.
func (p *process) wait(ctx context.Context) error {
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}
