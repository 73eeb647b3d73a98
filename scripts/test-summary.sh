#!/usr/bin/env bash
# Reads `go test -v` output on stdin, passes it through, and fails unless
# tests ran and none failed. Acceptance tests must not be skipped: a
# skipped acceptance test is a test that did not run.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
tee "$log"
pass=$(grep -cE '^\s*--- PASS' "$log")
fail=$(grep -cE '^\s*--- FAIL|^FAIL|^panic:' "$log")
skip_acc=$(grep -E '^\s*--- SKIP: (TestAcc|TestHarness)' "$log")
cli="none"
if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ]; then
  cli="$("$TF_ACC_TERRAFORM_PATH" version 2>/dev/null | head -n 1) ($TF_ACC_TERRAFORM_PATH)"
fi
echo
echo "== CLI that drove these tests: $cli"
echo "== test summary: $pass passed, $(grep -cE '^\s*--- FAIL' "$log") failed, $(grep -cE '^\s*--- SKIP' "$log") skipped"
if [ "$fail" -gt 0 ]; then
  echo "== FAILED:"; grep -E '^\s*--- FAIL|^FAIL' "$log"; exit 1
fi
if [ -n "$skip_acc" ]; then
  echo "== acceptance tests were skipped, which counts as failure:"; echo "$skip_acc"; exit 1
fi
if [ "$pass" -eq 0 ]; then
  echo "== no test ran"; exit 1
fi
