# Project-local PostgreSQL clusters. Sourced, never run. Needs $ROOT and scripts/lib.sh.
#
# A cluster lives in a git-ignored folder and listens on 127.0.0.1 only, with trust authentication
# (loopback, throwaway data). initdb and postgres refuse to run as root, so as root they run as the
# `postgres` user; if that user cannot reach the checkout (say, under /root), the data goes to /var/tmp.

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] || { echo "PostgreSQL server binaries not found; run scripts/install.sh" >&2; return 1; }
  echo "$dir"
}

# as_pg_owner <cmd...>: runs a PostgreSQL server command as its owner.
as_pg_owner() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

# pg_data_dir <name>: where cluster <name> keeps its data.
pg_data_dir() {
  local dir="$ROOT/.local/$1"
  if [ "$(id -u)" = 0 ] && ! su postgres -s /bin/sh -c "test -x '$ROOT'" 2>/dev/null; then
    dir="/var/tmp/paygate-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)/$1"
  fi
  echo "$dir"
}

# port_free <port>: true when nothing listens on 127.0.0.1:<port>.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pg_ensure <name> <preferred port> [server options]: creates the cluster on first use, starts it if
# stopped (on the first free port from the preferred one, so two checkouts on one machine do not
# collide), and prints its URL.
pg_ensure() {
  local name=$1 port=$2 extra=${3:-} bin data
  bin=$(pg_bin) || return 1
  data=$(pg_data_dir "$name")
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$data" && chmod 700 "$data"
    as_pg_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_pg_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    # Running already: its port is the fourth line of postmaster.pid.
    port=$(sed -n 4p "$data/postmaster.pid")
  else
    while ! port_free "$port"; do port=$((port + 1)); done
    as_pg_owner "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 \
      -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300 $extra" start >/dev/null
  fi
  echo "postgres://postgres@127.0.0.1:$port/postgres"
}

# pg_stop <name>: stops cluster <name> if it runs.
pg_stop() {
  local bin data
  bin=$(pg_bin) || return 0
  data=$(pg_data_dir "$1")
  [ -f "$data/PG_VERSION" ] || return 0
  as_pg_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
}
