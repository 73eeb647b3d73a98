package hostprep

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// capabilityNames maps Linux capability numbers to the names OCI runtime
// specs use. The order follows include/uapi/linux/capability.h.
var capabilityNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// CapabilitySet is a set of capabilities, one bit per capability number,
// in the format of the CapBnd line of /proc/<pid>/status.
type CapabilitySet uint64

// Has reports whether the set contains the capability with the given OCI
// name. Names this package does not know are reported as present, so that
// a newer kernel's capabilities are passed through rather than dropped.
func (s CapabilitySet) Has(name string) bool {
	for i, n := range capabilityNames {
		if n == name {
			return s&(1<<uint(i)) != 0
		}
	}
	return true
}

// Missing lists the known capabilities that are not in the set, in
// capability-number order.
func (s CapabilitySet) Missing() []string {
	var missing []string
	for i, n := range capabilityNames {
		if s&(1<<uint(i)) == 0 {
			missing = append(missing, n)
		}
	}
	return missing
}

// ReadBoundingSet parses the CapBnd line from the contents of a
// /proc/<pid>/status file.
func ReadBoundingSet(status io.Reader) (CapabilitySet, error) {
	scanner := bufio.NewScanner(status)
	for scanner.Scan() {
		key, value, ok := strings.Cut(scanner.Text(), ":")
		if !ok || key != "CapBnd" {
			continue
		}
		bits, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing CapBnd %q: %w", strings.TrimSpace(value), err)
		}
		return CapabilitySet(bits), nil
	}
	if err := scanner.Err(); err != nil {
		return 0, fmt.Errorf("reading process status: %w", err)
	}
	return 0, fmt.Errorf("no CapBnd line in process status")
}
