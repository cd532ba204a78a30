# Installs what the project needs on a fresh Debian machine with Node 20. Sourced by scripts/*.
ensure_deps() {
  if [ ! -d node_modules ] || [ package.json -nt node_modules/.package-lock.json ] || \
     ! node -e "require('better-sqlite3')" >/dev/null 2>&1; then
    echo "== installing npm dependencies (better-sqlite3 compiles from source: ~2 min)"
    npm ci --no-audit --no-fund 2>&1 | grep -v 'Unknown user config' || true
    node -e "require('better-sqlite3')" >/dev/null
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
