package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// binaries holds the paths of the programs built once for all tests.
var binaries struct {
	once     sync.Once
	dir      string
	err      error
	issuer   string
	extauthz string
}

// buildBinaries builds cmd/issuer and cmd/extauthz, as `make build` does,
// into a temporary folder shared by the tests of this package.
func buildBinaries(t *testing.T) (issuer, extauthz string) {
	t.Helper()
	binaries.once.Do(func() {
		binaries.dir, binaries.err = os.MkdirTemp("", "gatepass-e2e-")
		if binaries.err != nil {
			return
		}
		build := exec.Command("go", "build", "-o", binaries.dir+string(os.PathSeparator), "./cmd/issuer", "./cmd/extauthz")
		build.Dir = filepath.Join("..", "..")
		output, err := build.CombinedOutput()
		if err != nil {
			binaries.err = fmt.Errorf("go build failed: %v\n%s", err, output)
		}
		binaries.issuer = filepath.Join(binaries.dir, "issuer")
		binaries.extauthz = filepath.Join(binaries.dir, "extauthz")
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.issuer, binaries.extauthz
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// freeAddress returns a loopback address with a port that was free a moment
// ago. Another process could take it before the child binds it; the child
// then fails to start and the test reports that.
func freeAddress(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	return listener.Addr().String()
}

// process is a child program whose output is kept for failure messages.
type process struct {
	name   string
	cmd    *exec.Cmd
	mu     sync.Mutex
	output strings.Builder
	exited chan struct{}
}

// startProcess runs binary with args and environment env (added to a
// minimal environment) and stops it with SIGINT when the test ends.
func startProcess(t *testing.T, name, binary string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(binary, args...), exited: make(chan struct{})}
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	p.cmd.Dir = t.TempDir()
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go p.collect(pipe)
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *process) collect(pipe io.Reader) {
	scanner := bufio.NewScanner(pipe)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		p.mu.Lock()
		p.output.WriteString(scanner.Text() + "\n")
		p.mu.Unlock()
	}
	p.cmd.Wait()
	close(p.exited)
}

// log returns what the process printed so far.
func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// stop sends SIGINT and waits for a clean exit, killing the process if it
// does not stop within 20 seconds.
func (p *process) stop(t *testing.T) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("%s did not stop within 20s of SIGINT; output:\n%s", p.name, p.log())
	}
}

// waitUntil polls ready every 50 ms until it returns nil, the process exits,
// or the timeout passes.
func waitUntil(t *testing.T, p *process, timeout time.Duration, what string, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(50 * time.Millisecond)
	defer ticker.Stop()
	for {
		err := ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v: %v\n%s output:\n%s", what, timeout, err, p.name, p.log())
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited before %s was ready:\n%s", p.name, what, p.log())
		case <-ticker.C:
		}
	}
}

// httpReady returns a readiness probe that expects 200 from url.
func httpReady(url string) func() error {
	return func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return nil
	}
}

// runCommand runs binary to completion with env and returns its output.
func runCommand(t *testing.T, binary string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Dir = t.TempDir()
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v failed: %v\n%s", filepath.Base(binary), args, err, output)
	}
	return string(output)
}

// eventually polls condition every 100 ms until it holds, failing the test
// with what after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, condition func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for !condition() {
		if time.Now().After(deadline) {
			t.Fatalf("not true after %v: %s", timeout, what)
		}
		<-ticker.C
	}
}
