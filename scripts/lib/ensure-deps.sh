# Installs what the project needs on a fresh Debian machine with Node 20. Sourced by scripts/*.
ensure_deps() {
  if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || \
     ! node -e "require('better-sqlite3'); require('node-pty')" >/dev/null 2>&1; then
    echo "== installing npm dependencies (better-sqlite3 and node-pty compile from source: ~2 min)"
    npm ci --no-audit --no-fund 2>&1 | grep -v 'Unknown user config' || true
    node -e "require('better-sqlite3'); require('node-pty')" >/dev/null
  fi
}

# The console's browser tests drive Debian's Chromium through playwright-core.
ensure_chromium() {
  if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing chromium (Debian package) for the console's browser tests"
    if [ "$(id -u)" -ne 0 ]; then echo "installing chromium needs root: apt-get install chromium" >&2; return 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# Store and service tests run on PostgreSQL too (test/harness/postgres.ts starts a throwaway
# cluster from Debian's binaries in /usr/lib/postgresql/<version>/bin; no server is set up).
ensure_postgresql() {
  if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    echo "== installing postgresql (Debian package) for the store tests on PostgreSQL"
    if [ "$(id -u)" -ne 0 ]; then echo "installing postgresql needs root: apt-get install postgresql" >&2; return 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
}

# The cluster test puts Debian's nginx (with its stream module) in front of two control-plane nodes.
ensure_nginx() {
  if [ ! -x /usr/sbin/nginx ] || [ ! -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
    echo "== installing nginx and its stream module (Debian packages) for the cluster test"
    if [ "$(id -u)" -ne 0 ]; then echo "installing nginx needs root: apt-get install nginx libnginx-mod-stream" >&2; return 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-stream >/dev/null
  fi
}

# What tests run besides the product: tmux (terminal UIs), ps (procps), the time-zone database
# (schedules and the agent's local zone), setpriv and the user tools (util-linux, passwd).
ensure_test_tools() {
  local missing=()
  command -v tmux >/dev/null 2>&1 || missing+=(tmux)
  command -v ps >/dev/null 2>&1 || missing+=(procps)
  [ -f /usr/share/zoneinfo/America/New_York ] || missing+=(tzdata)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  command -v useradd >/dev/null 2>&1 || missing+=(passwd)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]} (Debian packages) for the tests"
    if [ "$(id -u)" -ne 0 ]; then echo "installing them needs root: apt-get install ${missing[*]}" >&2; return 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Packages: dpkg-deb (Debian's dpkg), rpmbuild (Debian's rpm package), zip/unzip for the update
# zip; the single executable needs postject, a dev dependency that ensure_deps installs.
ensure_packaging_tools() {
  local missing=()
  command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
  command -v rpmbuild >/dev/null 2>&1 || missing+=(rpm)
  command -v zip >/dev/null 2>&1 || missing+=(zip)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]} (Debian packages) to build and check the agent's packages"
    if [ "$(id -u)" -ne 0 ]; then echo "installing them needs root: apt-get install ${missing[*]}" >&2; return 1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ ! -f node_modules/postject/dist/cli.js ]; then
    echo "postject is missing from node_modules: npm ci" >&2; return 1
  fi
}
