#!/bin/sh
# system-inventory: what this server is. A one-shot plugin (POSIX sh, any Linux).
#   acs-plugin-manager --exec --plugin system-inventory [--params --section,os|packages|ports|disks|all]
# Prints one block per section; exits 2 on an unknown argument.
set -u
section=all
while [ $# -gt 0 ]; do
  case "$1" in
    --section) section="${2:-}"; shift 2 ;;
    --section=*) section="${1#--section=}"; shift ;;
    -h | --help) echo "usage: main.sh [--section os|packages|ports|disks|all]"; exit 0 ;;
    *) echo "system-inventory: unknown argument: $1" >&2; exit 2 ;;
  esac
done

os() {
  echo "== os"
  if [ -r /etc/os-release ]; then
    grep -E '^(PRETTY_NAME|ID|VERSION_ID)=' /etc/os-release
  fi
  echo "KERNEL=$(uname -sr)"
  echo "ARCH=$(uname -m)"
  echo "HOSTNAME=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)"
}

packages() {
  echo "== packages"
  if command -v dpkg-query >/dev/null 2>&1; then
    echo "MANAGER=dpkg COUNT=$(dpkg-query -W -f='.\n' 2>/dev/null | wc -l)"
  elif command -v rpm >/dev/null 2>&1; then
    echo "MANAGER=rpm COUNT=$(rpm -qa 2>/dev/null | wc -l)"
  elif command -v apk >/dev/null 2>&1; then
    echo "MANAGER=apk COUNT=$(apk info 2>/dev/null | wc -l)"
  else
    echo "MANAGER=unknown"
  fi
}

# Listening TCP sockets from /proc (no ss/netstat needed): local port, IPv4 and IPv6.
ports() {
  echo "== ports"
  for f in /proc/net/tcp /proc/net/tcp6; do
    [ -r "$f" ] || continue
    awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print a[2] }' "$f"
  done | while read -r hex; do printf 'tcp %d\n' "0x$hex"; done | sort -u -k2,2n
}

disks() {
  echo "== disks"
  df -P -k 2>/dev/null | awk 'NR == 1 || $1 ~ /^\// { print }'
}

case "$section" in
  os) os ;;
  packages) packages ;;
  ports) ports ;;
  disks) disks ;;
  all) os; packages; ports; disks ;;
  *) echo "system-inventory: unknown section: $section" >&2; exit 2 ;;
esac
