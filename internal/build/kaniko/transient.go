package kaniko

import (
	"regexp"
	"strings"
)

// kanikoFailure matches the line Kaniko prints when it gives up on
// something other than a RUN step: the base image, the context, the
// push. A failing RUN exits with the step's own code and says "waiting
// for process to exit".
var kanikoFailure = regexp.MustCompile(`^(error building image|error pushing image|error checking push permissions): `)

// transientNetwork are what a registry that is down or overloaded for a
// moment looks like from Kaniko's HTTP client.
var transientNetwork = []string{
	"connection refused", "connection reset by peer", "unexpected eof", "i/o timeout", "connection timed out", "tls handshake timeout",
	"no route to host", "network is unreachable",
	"no such host", "broken pipe", "server misbehaving", "context deadline exceeded", "client.timeout exceeded",
	"500 internal server error", "502 bad gateway", "503 service unavailable", "504 gateway timeout",
	"status code 500", "status code 502", "status code 503", "status code 504",
}

// closedMidRequest is Go's HTTP client on a registry that closed the
// connection before answering (it was stopped or restarted): the method,
// the URL, and a bare EOF.
var closedMidRequest = regexp.MustCompile(`(get|head|post|put|patch|delete) "[^"]*": eof\b`)

// transientRegistryFailure reports whether Kaniko exited because a
// registry failed for a moment while it read the base image or pushed
// (after its own retries), and returns the line that says so. A failing
// RUN step is never such a failure, whatever it printed.
func transientRegistryFailure(exitCode int32, tail []string) (string, bool) {
	if exitCode != 1 {
		return "", false
	}
	for i := len(tail) - 1; i >= 0; i-- {
		line := kanikoLevel.ReplaceAllString(tail[i], "")
		if !kanikoFailure.MatchString(line) {
			continue
		}
		lower := strings.ToLower(line)
		if strings.Contains(lower, "waiting for process to exit") || strings.Contains(lower, "failed to execute command") {
			return "", false
		}
		for _, p := range transientNetwork {
			if strings.Contains(lower, p) {
				return line, true
			}
		}
		if closedMidRequest.MatchString(lower) {
			return line, true
		}
		return "", false
	}
	return "", false
}
