package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicksPerSecond is USER_HZ, the unit of /proc/stat. Linux fixes it
// at 100 on every architecture that Go supports (only Alpha and IA-64
// differ).
const clockTicksPerSecond = 100

// CPUSample is a reading of CPU time used so far, by this process and by
// the whole machine.
type CPUSample struct {
	// Process is the user and system time of this process.
	Process time.Duration

	// Machine is the busy time of all CPUs together: user, nice, system,
	// irq and softirq time from /proc/stat. Idle, iowait and steal time
	// are not busy.
	Machine time.Duration
}

// SampleCPU reads CPU time from getrusage and /proc/stat. It fails where
// /proc/stat does not exist, which is everywhere but Linux.
func SampleCPU() (CPUSample, error) {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return CPUSample{}, fmt.Errorf("reading this process's CPU time: %w", err)
	}
	machine, err := machineBusy("/proc/stat")
	if err != nil {
		return CPUSample{}, err
	}
	process := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	return CPUSample{Process: process, Machine: machine}, nil
}

// CPUShares returns the share of the machine's capacity, in percent of
// all cpus together, that this process and everything else used between
// the samples before and after, over the wall time elapsed.
func CPUShares(before, after CPUSample, elapsed time.Duration, cpus int) (process, others float64) {
	capacity := float64(elapsed) * float64(cpus)
	if capacity <= 0 {
		return 0, 0
	}
	processTime := after.Process - before.Process
	otherTime := max(after.Machine-before.Machine-processTime, 0)
	return 100 * float64(processTime) / capacity, 100 * float64(otherTime) / capacity
}

// machineBusy returns the busy time summed over all CPUs from the "cpu"
// line of the /proc/stat file at path.
func machineBusy(path string) (time.Duration, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("reading machine CPU time: %w", err)
	}
	defer file.Close()

	scanner := bufio.NewScanner(file)
	if !scanner.Scan() {
		return 0, fmt.Errorf("reading machine CPU time from %s: %w", path, errors.Join(scanner.Err(), errors.New("the file is empty")))
	}
	return parseCPULine(scanner.Text())
}

// parseCPULine parses the summary line of /proc/stat, "cpu" followed by
// user, nice, system, idle, iowait, irq and softirq ticks (and more that
// are not needed), and returns the busy time it shows.
func parseCPULine(line string) (time.Duration, error) {
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, fmt.Errorf("parsing /proc/stat: the first line %q is not the cpu summary line", line)
	}
	var busyTicks int64
	for _, index := range []int{1, 2, 3, 6, 7} { // user, nice, system, irq, softirq
		ticks, err := strconv.ParseInt(fields[index], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc/stat: field %d of the cpu line: %w", index, err)
		}
		busyTicks += ticks
	}
	return time.Duration(busyTicks) * time.Second / clockTicksPerSecond, nil
}
