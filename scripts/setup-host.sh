#!/usr/bin/env bash
# Prepares a bare Debian (bookworm) machine, run as root, for the harness:
#   - installs the Debian packages the harness uses (docker.io, debootstrap,
#     gcc and libc6-dev for the static pause binary, curl, ca-certificates);
#   - starts a Docker engine when none answers;
#   - when the kernel's capability bounding set is incomplete (privileged
#     containers then fail with "unable to apply caps"), installs
#     scripts/runc-capfilter as Docker's default runtime and restarts dockerd.
# Every change is printed. Safe to rerun: it only acts on what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup-host] %s\n' "$*"; }
need_root() { [ "$(id -u)" = 0 ] || { say "must run as root (it installs packages and configures dockerd)"; exit 1; }; }

wrapper=/usr/local/libexec/onesbuild/runc-capfilter
daemon_json=/etc/docker/daemon.json
dockerd_log=/var/log/onesbuild-dockerd.log

packages=(docker.io debootstrap gcc libc6-dev curl ca-certificates)

install_packages() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  command -v dockerd >/dev/null 2>&1 || { [[ " ${missing[*]} " == *" docker.io "* ]] || missing+=(docker.io); }
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

docker_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_dockerd() {
  if command -v systemctl >/dev/null 2>&1 && [ "$(ps -p 1 -o comm=)" = systemd ]; then
    say "starting docker.service"
    systemctl restart docker
  else
    if pgrep -x dockerd >/dev/null 2>&1; then
      say "stopping the running dockerd"
      pkill -TERM -x dockerd || true
      # A new dockerd started while the old one still holds its pid file
      # and socket fails; wait for the old one to be gone.
      for _ in $(seq 60); do pgrep -x dockerd >/dev/null 2>&1 || break; sleep 0.5; done
      if pgrep -x dockerd >/dev/null 2>&1; then
        say "dockerd did not stop within 30s; stop it and rerun this script"
        exit 1
      fi
    fi
    say "starting dockerd in the background (log: $dockerd_log)"
    setsid nohup dockerd >"$dockerd_log" 2>&1 < /dev/null &
  fi
  for _ in $(seq 60); do docker_answers && return 0; sleep 1; done
  say "dockerd did not answer within 60s; last lines of $dockerd_log:"
  tail -20 "$dockerd_log" >&2 || true
  exit 1
}

bounding_set_complete() {
  local last bnd want
  last=$(cat /proc/sys/kernel/cap_last_cap)
  bnd=$((16#$(awk '/^CapBnd:/ {print $2}' /proc/self/status)))
  want=$(( (1 << (last + 1)) - 1 ))
  [ $(( bnd & want )) -eq "$want" ]
}

install_runtime_wrapper() {
  say "capability bounding set is incomplete: privileged containers (kind nodes) would fail"
  say "building $wrapper and registering it as Docker's default runtime in $daemon_json"
  mkdir -p "$(dirname "$wrapper")" /etc/docker
  CGO_ENABLED=0 go build -o "$wrapper" ./scripts/runc-capfilter
  # Merged into the existing file: other settings (log drivers, other
  # runtimes, mirrors) stay; the previous file is kept as a backup.
  result=$(go run ./scripts/daemon-json "$daemon_json" onesbuild-runc "$wrapper")
  say "$daemon_json: $result (previous version, if any: $daemon_json.onesbuild-backup)"
}

need_root
install_packages
needs_restart=false
if ! bounding_set_complete; then
  if ! grep -q '"default-runtime": "onesbuild-runc"' "$daemon_json" 2>/dev/null || [ ! -x "$wrapper" ]; then
    install_runtime_wrapper
    needs_restart=true
  fi
fi
if ! docker_answers || [ "$needs_restart" = true ]; then
  start_dockerd
fi
say "docker $(docker version --format '{{.Server.Version}}') answers; default runtime: $(docker info --format '{{.DefaultRuntime}}')"
