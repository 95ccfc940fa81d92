package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/gatepass/gatepass/extauthz/checkclient"
	"github.com/gatepass/gatepass/extauthz/internal/testissuer"
)

// result is one ghz measurement.
type result struct {
	name  string
	count int
	rps   float64
	p50   time.Duration
	p99   time.Duration
}

// ghzReport is the part of ghz's JSON report that loadtest reads.
type ghzReport struct {
	Count                  int                        `json:"count"`
	RPS                    float64                    `json:"rps"`
	LatencyDistribution    []ghzLatency               `json:"latencyDistribution"`
	ErrorDistribution      map[string]int             `json:"errorDistribution"`
	StatusCodeDistribution map[string]int             `json:"statusCodeDistribution"`
	Options                map[string]json.RawMessage `json:"options"`
}

type ghzLatency struct {
	Percentage int           `json:"percentage"`
	Latency    time.Duration `json:"latency"`
}

// ghzRunner runs ghz against Authorization/Check.
type ghzRunner struct {
	binary      string
	concurrency int
	workDir     string
}

// run loads address with the requests in dataFile and returns the
// measurement. limit is ghz's stop condition, such as "-z 10s".
func (g ghzRunner) run(name, address, dataFile string, limit ...string) (result, error) {
	reportPath := filepath.Join(g.workDir, "ghz-report.json")
	args := append([]string{
		"--insecure",
		"--call", "envoy.service.auth.v3.Authorization/Check",
		"--data-file", dataFile,
		"--concurrency", fmt.Sprint(g.concurrency),
		"--connections", "1",
		// Let calls in flight at the end of a timed run finish instead of
		// cutting them off, which ghz would count as errors.
		"--duration-stop", "wait",
		"--format", "json",
		"--output", reportPath,
	}, limit...)
	args = append(args, address)

	cmd := exec.Command(g.binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("ghz %s failed: %w\n%s", name, err, stderr.String())
	}

	data, err := os.ReadFile(reportPath)
	if err != nil {
		return result{}, fmt.Errorf("reading ghz report of %s: %w", name, err)
	}
	var report ghzReport
	if err := json.Unmarshal(data, &report); err != nil {
		return result{}, fmt.Errorf("decoding ghz report of %s: %w", name, err)
	}
	if len(report.ErrorDistribution) > 0 {
		return result{}, fmt.Errorf("ghz %s: calls failed: %v", name, report.ErrorDistribution)
	}

	measured := result{name: name, count: report.Count, rps: report.RPS}
	for _, latency := range report.LatencyDistribution {
		switch latency.Percentage {
		case 50:
			measured.p50 = latency.Latency
		case 99:
			measured.p99 = latency.Latency
		}
	}
	return measured, nil
}

// writeRequests writes ghz data files: one CheckRequest whose token stays
// cached, and an array of fresh CheckRequests, one distinct token each,
// which ghz sends round-robin.
func writeRequests(workDir string, issuer *testissuer.Server, key *testissuer.Key, freshTokens int) (cached, fresh string, err error) {
	request := func() (json.RawMessage, error) {
		token, err := key.Sign(issuer.Claims("bench-client", "reports:read"))
		if err != nil {
			return nil, err
		}
		check := checkclient.Request{Token: token, Method: "GET", Path: "/reports/2026/q3", Host: "api.example.com",
			Headers: map[string]string{"user-agent": "loadtest", "accept": "application/json"}}
		return marshal(check.CheckRequest())
	}

	one, err := request()
	if err != nil {
		return "", "", err
	}
	cached = filepath.Join(workDir, "cached.json")
	if err := os.WriteFile(cached, one, 0o600); err != nil {
		return "", "", err
	}

	many := make([]json.RawMessage, freshTokens)
	for i := range many {
		if many[i], err = request(); err != nil {
			return "", "", err
		}
	}
	data, err := json.Marshal(many)
	if err != nil {
		return "", "", err
	}
	fresh = filepath.Join(workDir, "fresh.json")
	if err := os.WriteFile(fresh, data, 0o600); err != nil {
		return "", "", err
	}
	return cached, fresh, nil
}

func marshal(request *authv3.CheckRequest) (json.RawMessage, error) {
	data, err := protojson.Marshal(request)
	if err != nil {
		return nil, fmt.Errorf("encoding a CheckRequest: %w", err)
	}
	return json.RawMessage(strings.TrimSpace(string(data))), nil
}
