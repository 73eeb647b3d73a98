package feasibility

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// CgroupSampler is a shell loop run inside the node: given a container ID
// it finds the container's cgroup (v1 or v2) and prints, every 100 ms
// until the cgroup disappears, "<unix ns> <memory now> <memory peak>
// <cpu ns used>".
const CgroupSampler = `id="$1"
rel=$(cd /sys/fs/cgroup/memory 2>/dev/null && find . -type d -name "*$id*" 2>/dev/null | head -n 1)
if [ -n "$rel" ]; then
  m=/sys/fs/cgroup/memory/$rel; c=/sys/fs/cgroup/cpuacct/$rel
  while [ -d "$m" ]; do
    echo "$(date +%s%N) $(cat $m/memory.usage_in_bytes 2>/dev/null) $(cat $m/memory.max_usage_in_bytes 2>/dev/null) $(cat $c/cpuacct.usage 2>/dev/null)"
    sleep 0.1
  done
else
  d=$(find /sys/fs/cgroup -type d -name "*$id*" 2>/dev/null | head -n 1)
  while [ -n "$d" ] && [ -d "$d" ]; do
    u=$(sed -n 's/^usage_usec //p' $d/cpu.stat 2>/dev/null)
    echo "$(date +%s%N) $(cat $d/memory.current 2>/dev/null) $(cat $d/memory.peak 2>/dev/null || echo 0) $(( ${u:-0} * 1000 ))"
    sleep 0.1
  done
fi
`

// Peaks are the highest CPU rate and memory use seen in cgroup samples.
type Peaks struct {
	// CPUMillicores is the highest CPU use over one sampling interval.
	CPUMillicores float64
	MemoryBytes   int64
	Samples       int
}

// ParseCgroupSamples reads CgroupSampler's output. Lines cut short by the
// cgroup disappearing are skipped.
func ParseCgroupSamples(r io.Reader) Peaks {
	var p Peaks
	var lastT, lastCPU int64
	scanner := bufio.NewScanner(r)
	for scanner.Scan() {
		f := strings.Fields(scanner.Text())
		if len(f) != 4 {
			continue
		}
		var v [4]int64
		ok := true
		for i := range f {
			n, err := strconv.ParseInt(f[i], 10, 64)
			if err != nil {
				ok = false
				break
			}
			v[i] = n
		}
		if !ok {
			continue
		}
		t, now, peak, cpu := v[0], v[1], v[2], v[3]
		p.Samples++
		p.MemoryBytes = max(p.MemoryBytes, now, peak)
		if lastT != 0 && t > lastT && cpu >= lastCPU {
			rate := float64(cpu-lastCPU) / float64(t-lastT) * 1000
			p.CPUMillicores = max(p.CPUMillicores, rate)
		}
		lastT, lastCPU = t, cpu
	}
	return p
}
