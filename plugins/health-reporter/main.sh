#!/bin/sh
# health-reporter: a persistent plugin. Its daemon writes, every heartbeatInterval / 2 seconds,
# the time to $PLUGIN_DIR/heartbeat (Unix seconds: the agent's liveness check) and the host's
# load, memory and root-disk use to $PLUGIN_DIR/health.
#   --install | --uninstall | --start | --stop | --restart | --status | --upgrade
# --status exits 0 when the daemon runs. --upgrade stops the previous version ($PRE_PLUGIN_DIR)
# and starts this one.
set -u
DIR="${PLUGIN_DIR:-$(cd "$(dirname "$0")" && pwd)}"
PIDFILE="$DIR/daemon.pid"

interval() {
  n=$(sed -n 's/.*"heartbeatInterval"[[:space:]]*:[[:space:]]*"\{0,1\}\([0-9][0-9]*\).*/\1/p' "$DIR/config.json" | head -n 1)
  n=${n:-60}
  n=$((n / 2))
  [ "$n" -ge 1 ] || n=1
  echo "$n"
}

running() {
  [ -r "$PIDFILE" ] || return 1
  read -r pid <"$PIDFILE" 2>/dev/null || return 1
  case "$pid" in '' | *[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null
}

daemon() {
  every=$(interval)
  trap 'exit 0' TERM INT
  while :; do
    date +%s >"$DIR/heartbeat.tmp" && mv -f "$DIR/heartbeat.tmp" "$DIR/heartbeat"
    {
      echo "time=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
      echo "load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
      awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { if (t) printf "mem_used_percent=%d\n", (t - a) * 100 / t }' /proc/meminfo 2>/dev/null
      df -P / 2>/dev/null | awk 'NR == 2 { print "root_disk_used=" $5 }'
    } >"$DIR/health.tmp" && mv -f "$DIR/health.tmp" "$DIR/health"
    sleep "$every" &
    wait $!
  done
}

start() {
  if running; then
    echo "health-reporter is running (pid $pid)"
    return 0
  fi
  # A session of its own: the manager kills what is left of its own process group when we return,
  # so wait for the first heartbeat, which the daemon writes only once it has left the group.
  rm -f "$DIR/heartbeat"
  if command -v setsid >/dev/null 2>&1; then
    setsid sh "$DIR/main.sh" --run </dev/null >/dev/null 2>&1 &
  else
    nohup sh "$DIR/main.sh" --run </dev/null >/dev/null 2>&1 &
  fi
  pid=$!
  echo "$pid" >"$PIDFILE"
  i=0
  while [ ! -s "$DIR/heartbeat" ]; do
    if [ "$i" -ge 100 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "health-reporter did not start" >&2
      return 1
    fi
    sleep 0.1 2>/dev/null || sleep 1
    i=$((i + 1))
  done
  echo "health-reporter started (pid $pid)"
}

stop() {
  if ! running; then
    rm -f "$PIDFILE"
    echo "health-reporter is not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 20 ]; do
    sleep 0.1 2>/dev/null || sleep 1
    i=$((i + 1))
  done
  kill -KILL "$pid" 2>/dev/null
  rm -f "$PIDFILE"
  echo "health-reporter stopped"
}

case "${1:-}" in
  --run) PLUGIN_DIR="$DIR" daemon ;;
  --install | --uninstall) exit 0 ;;
  --start) start ;;
  --stop) stop ;;
  --restart) stop && start ;;
  --status) running ;;
  --upgrade)
    if [ -n "${PRE_PLUGIN_DIR:-}" ] && [ -r "$PRE_PLUGIN_DIR/main.sh" ]; then
      PLUGIN_DIR="$PRE_PLUGIN_DIR" sh "$PRE_PLUGIN_DIR/main.sh" --stop
    fi
    start
    ;;
  *)
    echo "usage: main.sh --install|--uninstall|--start|--stop|--restart|--status|--upgrade" >&2
    exit 2
    ;;
esac
