# Installs what the project needs on a fresh Debian machine with Node 20. Sourced by scripts/*.
ensure_deps() {
  if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || \
     ! node -e "require('better-sqlite3'); require('node-pty')" >/dev/null 2>&1; then
    echo "== installing npm dependencies (better-sqlite3 and node-pty compile from source: ~2 min)"
    npm ci --no-audit --no-fund 2>&1 | grep -v 'Unknown user config' || true
    node -e "require('better-sqlite3'); require('node-pty')" >/dev/null
  fi
}

# Installs Debian packages with apt, which needs root; WHY says what needs them.
apt_install() {
  local why=$1
  shift
  echo "== installing $* (Debian packages) $why"
  if [ "$(id -u)" -ne 0 ]; then echo "installing them needs root: apt-get install $*" >&2; return 1; fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The console's browser tests drive Debian's Chromium through playwright-core.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || apt_install "for the console's browser tests" chromium
}

# Store and service tests run on PostgreSQL too (test/harness/postgres.ts starts a throwaway
# cluster from Debian's binaries in /usr/lib/postgresql/<version>/bin; no server is set up).
ensure_postgresql() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ||
    apt_install "for the store tests on PostgreSQL" postgresql
}

# The cluster test puts Debian's nginx (with its stream module) in front of two control-plane nodes.
ensure_nginx() {
  if [ ! -x /usr/sbin/nginx ] || [ ! -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
    apt_install "for the cluster test" nginx libnginx-mod-stream
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
  [ "${#missing[@]}" -eq 0 ] || apt_install "for the tests" "${missing[@]}"
}

# Packages: dpkg-deb (Debian's dpkg), rpmbuild (Debian's rpm package), zip/unzip for the update
# zip; the single executable needs postject, a dev dependency that ensure_deps installs.
ensure_packaging_tools() {
  local missing=()
  command -v dpkg-deb >/dev/null 2>&1 || missing+=(dpkg)
  command -v rpmbuild >/dev/null 2>&1 || missing+=(rpm)
  command -v zip >/dev/null 2>&1 || missing+=(zip)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  [ "${#missing[@]}" -eq 0 ] || apt_install "to build and check the agent's packages" "${missing[@]}" || return 1
  if [ ! -f node_modules/postject/dist/cli.js ]; then
    echo "postject is missing from node_modules: npm ci" >&2; return 1
  fi
}
