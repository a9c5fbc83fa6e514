#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests labelled `postgres` and the
# PostgreSQL bench: initdb into DIR, listen on a unix socket in DIR only (no
# TCP), a private port number, trust authentication for the user `hubc`.
#
#   eval "$(tests/postgres/pg_cluster.sh start DIR [PORT])"   # exports HUBC_PG_*
#   ctest --test-dir build/dev -L postgres
#   tests/postgres/pg_cluster.sh stop DIR                     # stops, removes DIR
#
# initdb refuses to run as root: as root the cluster runs as RUN_AS (default
# the Debian `postgres` user). Never touches a system cluster (port 5432).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
port=${3:-54329}
[[ -n $cmd && -n $dir ]] || { echo "usage: $0 start|stop DIR [PORT]" >&2; exit 2; }

bindir=${PG_BINDIR:-}
if [[ -z $bindir ]]; then
  bindir=$(pg_config --bindir 2>/dev/null || true)
  [[ -x $bindir/initdb ]] || bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
fi
[[ -x $bindir/initdb ]] || { echo "pg_cluster: no initdb (install postgresql)" >&2; exit 1; }

as_owner=()
if [[ $(id -u) -eq 0 ]]; then as_owner=(runuser -u "${RUN_AS:-postgres}" --); fi
pg_ctl=("${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log")

case $cmd in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  pg_ctl=("${as_owner[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log")
  chmod 0755 "$dir"
  if [[ ${#as_owner[@]} -gt 0 ]]; then chown "${RUN_AS:-postgres}" "$dir"; fi
  "${as_owner[@]}" "$bindir/initdb" -D "$dir/data" -U hubc -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
max_connections = 200
CONF
  "${pg_ctl[@]}" start -w >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  # The tests restart the server with this command (pg_ctl stop/start).
  printf 'export HUBC_PG_CONNINFO=%q\n' "host=$dir port=$port dbname=postgres user=hubc"
  printf 'export HUBC_PG_CTL=%q\n' "${pg_ctl[*]}"
  ;;
stop)
  if [[ -d $dir/data ]]; then "${pg_ctl[@]}" stop -m fast >/dev/null 2>&1 || true; fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start|stop DIR [PORT]" >&2
  exit 2
  ;;
esac
