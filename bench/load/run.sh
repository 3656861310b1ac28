#!/usr/bin/env bash
# HTTP load benchmark: attesto demo vs node oidc-provider, same machine, same run, with the
# floor (bench/load/floor: bare axum + josekit, the least an ES256 token server can do) as the
# measure of how much of attesto's cost is protocol work rather than crypto and HTTP.
#
# Usage:  bench/load/run.sh            # both servers, every scenario
#   env:  DURATION=10  WARMUP=2        seconds per measured run / per discarded warm-up run
#         THREADS=2    CONNS=64        wrk threads / open connections (same for every server)
#         REPEAT=1                     rounds: every server runs every scenario once per round,
#                                      rounds interleave the servers, the median round is reported
#         ONLY=all|both|attesto|peer|floor  which servers to measure (default all; both =
#                                      attesto and peer)
#         QUIET_WAIT=60 QUIET_CORES=0.3  before each scenario, wait up to QUIET_WAIT s until other
#                                      processes use < QUIET_CORES cores (shared machines)
#         SKIP_BUILD=1                 use an already built attesto-demo binary
#         ATTESTO_BIN=path             attesto-demo binary (default $CARGO_TARGET_DIR/release/attesto-demo)
#         FLOOR_BIN=path               floor binary (default $CARGO_TARGET_DIR/release/attesto-load-floor)
#         UPDATE_BENCHMARKS=1          also replace the "Load (HTTP)" section of BENCHMARKS.md
#
# What it does (all targets are loopback 127.0.0.1; every step is bounded in time and every
# process it starts is stopped on exit):
#   1. installs wrk (apt-get) and the peer's node dependencies (npm ci) when missing;
#   2. starts oidc-provider (bench/load/oidc-provider/server.mjs) on 127.0.0.1:$PEER_PORT,
#      runs the five scenarios against it, stops it;
#   3. builds and starts attesto-demo on 127.0.0.1:$ATTESTO_PORT, registers a client through
#      open dynamic client registration, runs the five scenarios, stops it: once with in-memory
#      stores and registry (`--database-url memory:`, what the peer does) and once on the demo's
#      default SQLite database;
#   4. starts the floor on 127.0.0.1:$FLOOR_PORT, runs the five scenarios, stops it;
#   5. prints a markdown table and writes it to bench/load/results.md.
# Only one server runs at a time. Neither the server nor wrk is pinned: both share the
# machine's cores ("the load generator beside it").
#
# Each scenario is one static wrk request checked by scenario.lua: a response counts as
# throughput only if it is 2xx and its body contains the scenario's marker; every other
# response is reported in the "bad" column.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DURATION="${DURATION:-10}"
REPEAT="${REPEAT:-1}"
WARMUP="${WARMUP:-2}"
THREADS="${THREADS:-2}"
CONNS="${CONNS:-64}"
QUIET_WAIT="${QUIET_WAIT:-60}"
QUIET_CORES="${QUIET_CORES:-0.3}"
ONLY="${ONLY:-all}"
PEER_PORT="${PEER_PORT:-3000}"
ATTESTO_PORT="${ATTESTO_PORT:-8080}"
FLOOR_PORT="${FLOOR_PORT:-8090}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
ATTESTO_BIN="${ATTESTO_BIN:-$CARGO_TARGET_DIR/release/attesto-demo}"
FLOOR_BIN="${FLOOR_BIN:-$CARGO_TARGET_DIR/release/attesto-load-floor}"
FLOOR_BASIC="Basic $(printf 'floor:floor-secret-0123456789abcdef' | base64 -w0)"
RESULTS="$HERE/results.md"
LUA="$HERE/scenario.lua"
LOG_DIR="$(mktemp -d /tmp/attesto-load.XXXXXX)"

# Peer's static clients (see oidc-provider/server.mjs).
PEER_CLIENT="bench:bench-secret-0123456789abcdef0123456789abcdef"
PEER_OPAQUE_CLIENT="bench-opaque:bench-opaque-secret-0123456789abcdef0123456789ab"
SCOPE="${SCOPE:-api.read}"

SCENARIOS=(client_credentials discovery jwks introspection resource)
declare -A LABEL=(
  [client_credentials]="client_credentials issuance (POST token, ES256 JWT)"
  [discovery]="discovery (GET /.well-known/openid-configuration)"
  [jwks]="JWKS (GET jwks_uri)"
  [introspection]="introspection of a valid token (POST)"
  [resource]="resource access (GET /api/me, Bearer JWT)"
)
declare -A RPS P99 BAD FIRST_BAD CPU_US CORES ROUNDS
ROUND=1
SERVER_PID=""
CLK_TCK="$(getconf CLK_TCK)"

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT INT TERM

log() { printf '[load] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

json_get() { # json_get FIELD  (reads JSON on stdin, prints .FIELD or nothing)
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const v=JSON.parse(s)[process.argv[1]];if(v!==undefined)process.stdout.write(String(v))}catch{}})' "$1"
}

proc_cpu_ticks() { # utime + stime of a process (all threads), in clock ticks
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

machine_busy_ticks() { # all CPUs, every state but idle and iowait
  awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() { # wait_http URL PID  (up to 30 s)
  local i
  for i in $(seq 1 150); do
    if curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

require_loopback() { # refuse any URL that is not http://127.0.0.1:PORT/...
  case "$1" in
    http://127.0.0.1:[0-9]*/*) ;;
    *) die "refusing non-loopback target: $1" ;;
  esac
}

# --- 1. tools ---------------------------------------------------------------------------
install_tools() {
  if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  fi
  command -v node >/dev/null 2>&1 || die "node is required"
  command -v curl >/dev/null 2>&1 || die "curl is required"
  if [ "$ONLY" != attesto ] && [ "$ONLY" != floor ]; then
    local pkg="$HERE/oidc-provider"
    if [ ! -d "$pkg/node_modules/oidc-provider" ] || [ "$pkg/package-lock.json" -nt "$pkg/node_modules/.package-lock.json" ]; then
      log "installing oidc-provider dependencies (npm ci)"
      (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  fi
}

# --- wrk driver -------------------------------------------------------------------------
# wait_quiet: on a shared machine, wait (at most QUIET_WAIT seconds) until the rest of the
# machine uses less than QUIET_CORES cores over one second, so that a neighbour's compile
# does not land in one server's runs only. Never fails: the CPU table shows what happened.
wait_quiet() {
  local deadline=$((SECONDS + QUIET_WAIT)) b0 b1 s0 s1 other
  while :; do
    b0="$(machine_busy_ticks)"; s0="$(proc_cpu_ticks "$SERVER_PID")"
    sleep 1
    b1="$(machine_busy_ticks)"; s1="$(proc_cpu_ticks "$SERVER_PID")"
    other="$(awk -v b="$((b1 - b0))" -v s="$((s1 - s0))" -v hz="$CLK_TCK" 'BEGIN{ printf "%.2f", (b-s)/hz }')"
    if awk -v o="$other" -v q="$QUIET_CORES" 'BEGIN{ exit !(o < q) }'; then return 0; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "machine still busy (other processes use $other cores); measuring anyway"
      return 0
    fi
  done
}

# run_scenario SERVER SCENARIO URL METHOD BODY AUTH EXPECT
run_scenario() {
  local server="$1" scen="$2" url="$3" method="$4" body="$5" auth="$6" expect="$7"
  require_loopback "$url"
  local out="$LOG_DIR/$server-$scen-r$ROUND.txt"
  export BENCH_METHOD="$method" BENCH_BODY="$body" BENCH_AUTH="$auth" BENCH_EXPECT="$expect"
  wait_quiet
  timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" --timeout 5s -s "$LUA" "$url" >/dev/null 2>&1 || true
  local cpu0 cpu1 busy0 busy1 t0 t1
  cpu0="$(proc_cpu_ticks "$SERVER_PID")"
  busy0="$(machine_busy_ticks)"
  t0="$(date +%s%N)"
  ( timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s --latency -s "$LUA" "$url" >"$out" 2>&1 || true
    times >"$out.times" )
  t1="$(date +%s%N)"
  cpu1="$(proc_cpu_ticks "$SERVER_PID")"
  busy1="$(machine_busy_ticks)"
  unset BENCH_METHOD BENCH_BODY BENCH_AUTH BENCH_EXPECT
  local line
  line="$(grep '^BENCH_RESULT ' "$out" || true)"
  [ -n "$line" ] || { cat "$out" >&2; die "wrk produced no result for $server/$scen"; }
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  local k="$server:$scen:$ROUND"
  RPS[$k]="$(field good_rps)"
  P99[$k]="$(field p99_us)"
  BAD[$k]="$(field bad)"
  FIRST_BAD[$k]="$(field first_bad)"
  # Server CPU time (user + system, all threads) per good response, in microseconds.
  CPU_US[$k]="$(awk -v d="$((cpu1 - cpu0))" -v hz="$CLK_TCK" -v n="$(field good)" 'BEGIN{ if (n>0) printf "%.1f", d*1e6/hz/n }')"
  # Where the machine's CPU went during the run, in cores: server, wrk, everything else
  # (other people's processes on a shared machine; kernel work not charged to a process).
  local wall wrk_s
  wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN{ printf "%.6f", (b-a)/1e9 }')"
  wrk_s="$(sed -n 2p "$out.times" | awk '{ n=0; for (i=1;i<=2;i++) { split($i, p, "m"); sub("s","",p[2]); n += p[1]*60 + p[2] } print n }')"
  CORES[$k]="$(awk -v s="$((cpu1 - cpu0))" -v b="$((busy1 - busy0))" -v hz="$CLK_TCK" -v w="$wall" -v k="${wrk_s:-0}" \
    'BEGIN{ sv=s/hz/w; wk=k/w; all=b/hz/w; o=all-sv-wk; if (o<0) o=0; printf "%.2f / %.2f / %.2f", sv, wk, o }')"
  log "$(printf 'round %s  %-8s %-18s %10s req/s  p99 %7s us  server cpu %6s us/req  cores server/wrk/other %s  bad %s %s' "$ROUND" "$server" "$scen" "${RPS[$k]}" "${P99[$k]}" "${CPU_US[$k]}" "${CORES[$k]}" "${BAD[$k]}" "${FIRST_BAD[$k]}")"
}

# pick_medians: for every server and scenario, report the round with the median req/s (all of
# that round's figures, so that they stay consistent), and keep every round's req/s in ROUNDS.
pick_medians() {
  local srv s r vals med
  for srv in attesto sqlite peer floor; do
    for s in "${SCENARIOS[@]}"; do
      vals=""
      for r in $(seq 1 "$REPEAT"); do
        [ -n "${RPS[$srv:$s:$r]:-}" ] && vals="$vals$r ${RPS[$srv:$s:$r]}"$'\n'
      done
      [ -n "$vals" ] || continue
      med="$(printf '%s' "$vals" | sort -k2 -g | awk '{ a[NR]=$1 } END { print a[int((NR+1)/2)] }')"
      RPS[$srv:$s]="${RPS[$srv:$s:$med]}"
      P99[$srv:$s]="${P99[$srv:$s:$med]}"
      BAD[$srv:$s]="${BAD[$srv:$s:$med]}"
      FIRST_BAD[$srv:$s]="${FIRST_BAD[$srv:$s:$med]:-}"
      CPU_US[$srv:$s]="${CPU_US[$srv:$s:$med]}"
      CORES[$srv:$s]="${CORES[$srv:$s:$med]}"
      ROUNDS[$srv:$s]="$(printf '%s' "$vals" | awk '{ printf "%s%.0f", (NR>1?" / ":""), $2 }')"
    done
  done
}

# run_all SERVER BASE TOKEN_PATH TOKEN_BODY CLIENT_AUTH INTROSPECT_URL INTROSPECT_TOKEN RESOURCE_TOKEN
run_all() {
  local server="$1" base="$2" token_url="$3" token_body="$4" basic="$5" introspect_url="$6" itok="$7" rtok="$8"
  local jwks_uri
  jwks_uri="$(curl -fsS --max-time 5 "$base/.well-known/openid-configuration" | json_get jwks_uri)"
  [ -n "$jwks_uri" ] || die "$server: discovery has no jwks_uri"
  run_scenario "$server" client_credentials "$token_url" POST "$token_body" "Basic $basic" '"access_token"'
  run_scenario "$server" discovery "$base/.well-known/openid-configuration" GET "" "" '"jwks_uri"'
  run_scenario "$server" jwks "$jwks_uri" GET "" "" '"keys"'
  run_scenario "$server" introspection "$introspect_url" POST "token=$itok" "Basic $basic" '"active":true'
  run_scenario "$server" resource "$base/api/me" GET "" "Bearer $rtok" ''
}

# --- 2. oidc-provider -------------------------------------------------------------------
PEER_VERSION="-"
bench_peer() {
  port_free "$PEER_PORT" || die "127.0.0.1:$PEER_PORT is already in use"
  local base="http://127.0.0.1:$PEER_PORT"
  PEER_VERSION="$(node -p 'require(process.argv[1]).version' "$HERE/oidc-provider/node_modules/oidc-provider/package.json")"
  log "starting oidc-provider $PEER_VERSION on $base"
  (cd "$HERE/oidc-provider" && exec env NODE_ENV=production node server.mjs --port "$PEER_PORT") >"$LOG_DIR/peer.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  SERVER_PID="$pid"
  wait_http "$base/.well-known/openid-configuration" "$pid" || { cat "$LOG_DIR/peer.log" >&2; die "oidc-provider did not start"; }
  local basic obasic rtok itok
  basic="$(printf '%s' "$PEER_CLIENT" | base64 -w0)"
  obasic="$(printf '%s' "$PEER_OPAQUE_CLIENT" | base64 -w0)"
  rtok="$(curl -fsS --max-time 5 -H "Authorization: Basic $basic" -d grant_type=client_credentials -d "scope=$SCOPE" "$base/token" | json_get access_token)"
  itok="$(curl -fsS --max-time 5 -H "Authorization: Basic $obasic" -d grant_type=client_credentials -d "scope=$SCOPE" "$base/token" | json_get access_token)"
  [ -n "$rtok" ] && [ -n "$itok" ] || die "oidc-provider: could not obtain tokens"
  run_all peer "$base" "$base/token" "grant_type=client_credentials&scope=$SCOPE" "$basic" "$base/token/introspection" "$itok" "$rtok"
  cleanup
}

# --- 3. attesto -------------------------------------------------------------------------
ATTESTO_COMMIT="-"
# bench_attesto NAME DATABASE_URL   (empty URL: the demo's default, SQLite next to the key file)
bench_attesto() {
  local name="$1" database_url="$2"
  port_free "$ATTESTO_PORT" || die "127.0.0.1:$ATTESTO_PORT is already in use"
  ATTESTO_COMMIT="$(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- attesto examples/demo Cargo.toml Cargo.lock 2>/dev/null || echo '-dirty')"
  if [ "${SKIP_BUILD:-0}" != 1 ] && [ -z "${BUILT:-}" ]; then
    BUILT=1
    log "building attesto-demo and the floor (release)"
    (cd "$REPO" && cargo build --release -p attesto-demo -p attesto-load-floor >&2)
  fi
  [ -x "$ATTESTO_BIN" ] || die "no attesto-demo binary at $ATTESTO_BIN"
  local base="http://127.0.0.1:$ATTESTO_PORT"
  log "starting attesto-demo ($ATTESTO_COMMIT, ${database_url:-SQLite}) on $base"
  # Request logging off (RUST_LOG=warn), as the peer logs nothing per request; a fresh
  # ES256 key file (and SQLite database beside it) per run.
  local dir="$LOG_DIR/$name"
  mkdir -p "$dir"
  local db_args=()
  [ -n "$database_url" ] && db_args=(--database-url "$database_url")
  RUST_LOG="${ATTESTO_RUST_LOG:-warn}" "$ATTESTO_BIN" --addr "127.0.0.1:$ATTESTO_PORT" --issuer "$base" \
    --key-file "$dir/attesto-demo-key.json" "${db_args[@]}" >"$dir/attesto.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  SERVER_PID="$pid"
  wait_http "$base/.well-known/openid-configuration" "$pid" || { cat "$dir/attesto.log" >&2; die "attesto-demo did not start"; }
  local reg client_id client_secret basic tok
  reg="$(curl -fsS --max-time 5 -H 'Content-Type: application/json' \
    -d "{\"grant_types\":[\"client_credentials\"],\"token_endpoint_auth_method\":\"client_secret_basic\",\"scope\":\"$SCOPE\"}" \
    "$base/oauth/register")"
  client_id="$(json_get client_id <<<"$reg")"
  client_secret="$(json_get client_secret <<<"$reg")"
  [ -n "$client_id" ] && [ -n "$client_secret" ] || die "attesto: client registration failed: $reg"
  basic="$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)"
  tok="$(curl -fsS --max-time 5 -H "Authorization: Basic $basic" -d grant_type=client_credentials -d "scope=$SCOPE" "$base/oauth/token" | json_get access_token)"
  [ -n "$tok" ] || die "attesto: could not obtain a token"
  run_all "$name" "$base" "$base/oauth/token" "grant_type=client_credentials&scope=$SCOPE" "$basic" "$base/oauth/introspect" "$tok" "$tok"
  cleanup
}

# --- 4. the floor -----------------------------------------------------------------------
bench_floor() {
  port_free "$FLOOR_PORT" || die "127.0.0.1:$FLOOR_PORT is already in use"
  if [ ! -x "$FLOOR_BIN" ] && [ "${SKIP_BUILD:-0}" != 1 ]; then
    (cd "$REPO" && cargo build --release -p attesto-load-floor >&2)
  fi
  [ -x "$FLOOR_BIN" ] || die "no floor binary at $FLOOR_BIN"
  local base="http://127.0.0.1:$FLOOR_PORT"
  log "starting the floor on $base"
  "$FLOOR_BIN" --addr "127.0.0.1:$FLOOR_PORT" --basic "$FLOOR_BASIC" >"$LOG_DIR/floor.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  SERVER_PID="$pid"
  wait_http "$base/.well-known/openid-configuration" "$pid" || { cat "$LOG_DIR/floor.log" >&2; die "the floor did not start"; }
  local tok
  tok="$(curl -fsS --max-time 5 -H "Authorization: $FLOOR_BASIC" -d grant_type=client_credentials -d "scope=$SCOPE" "$base/token" | json_get access_token)"
  [ -n "$tok" ] || die "floor: could not obtain a token"
  run_all floor "$base" "$base/token" "grant_type=client_credentials&scope=$SCOPE" "${FLOOR_BASIC#Basic }" "$base/introspect" "$tok" "$tok"
  cleanup
}

# --- 5. report --------------------------------------------------------------------------
fmt_rps() { [ -n "${1:-}" ] && printf '%.0f' "$1" || printf -- '-'; }
fmt_ms() { [ -n "${1:-}" ] && awk -v u="$1" 'BEGIN{printf "%.2f ms", u/1000}' || printf -- '-'; }
pct() { if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.0f %%", 100*a/b; else printf "-" }'; else printf -- '-'; fi; }
ratio() { if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.1f×", a/b; else printf "-" }'; else printf -- '-'; fi; }

report() {
  local cpu nodev wrkv now load
  cpu="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
  nodev="$(node --version)"
  wrkv="$( (wrk -v 2>&1 || true) | head -1 | awk '{print $2}')"
  now="$(date -u '+%Y-%m-%d %H:%M UTC')"
  load="$(cut -d' ' -f1-3 /proc/loadavg)"
  {
    echo "Run: $now · machine: $(nproc) cores, $cpu, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) · load average before the run: $START_LOAD (after: $load)"
    echo
    echo "Versions: attesto \`$ATTESTO_COMMIT\` (attesto-demo, release; floor from the same commit) · oidc-provider $PEER_VERSION on node $nodev · wrk $wrkv"
    echo
    echo "Load: \`wrk -t$THREADS -c$CONNS -d${DURATION}s\` after a ${WARMUP}s warm-up per scenario, keep-alive, loopback; server and wrk unpinned on the same $(nproc) cores; one server running at a time; $REPEAT round(s), servers interleaved, the median round of each server and scenario reported."
    echo
    echo "attesto = attesto-demo with in-memory stores and client registry (\`--database-url memory:\`), as the peer runs (in-memory adapter, static clients); attesto SQLite = the demo's default, every client lookup and store access a SQLite query."
    echo
    echo "| scenario | attesto req/s | oidc-provider req/s | ratio | attesto SQLite req/s | floor req/s | attesto / floor | attesto p99 | oidc-provider p99 | server CPU µs/req (attesto / SQLite / oidc-provider / floor) | bad responses (attesto / SQLite / oidc-provider / floor) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    local s
    for s in "${SCENARIOS[@]}"; do
      echo "| ${LABEL[$s]} | $(fmt_rps "${RPS[attesto:$s]:-}") | $(fmt_rps "${RPS[peer:$s]:-}") | $(ratio "${RPS[attesto:$s]:-}" "${RPS[peer:$s]:-}") | $(fmt_rps "${RPS[sqlite:$s]:-}") | $(fmt_rps "${RPS[floor:$s]:-}") | $(pct "${RPS[attesto:$s]:-}" "${RPS[floor:$s]:-}") | $(fmt_ms "${P99[attesto:$s]:-}") | $(fmt_ms "${P99[peer:$s]:-}") | ${CPU_US[attesto:$s]:--} / ${CPU_US[sqlite:$s]:--} / ${CPU_US[peer:$s]:--} / ${CPU_US[floor:$s]:--} | ${BAD[attesto:$s]:--} / ${BAD[sqlite:$s]:--} / ${BAD[peer:$s]:--} / ${BAD[floor:$s]:--} |"
    done
    echo
    echo "CPU during each measured run, in cores of $(nproc) (server / wrk / everything else on the machine):"
    echo
    echo "| scenario | attesto run | attesto SQLite run | oidc-provider run | floor run |"
    echo "|---|---:|---:|---:|---:|"
    for s in "${SCENARIOS[@]}"; do
      echo "| $s | ${CORES[attesto:$s]:--} | ${CORES[sqlite:$s]:--} | ${CORES[peer:$s]:--} | ${CORES[floor:$s]:--} |"
    done
    if [ "$REPEAT" -gt 1 ]; then
      echo
      echo "req/s of every round (attesto / attesto SQLite / oidc-provider / floor), to show the spread:"
      echo
      echo "| scenario | attesto | attesto SQLite | oidc-provider | floor |"
      echo "|---|---|---|---|---|"
      for s in "${SCENARIOS[@]}"; do
        echo "| $s | ${ROUNDS[attesto:$s]:--} | ${ROUNDS[sqlite:$s]:--} | ${ROUNDS[peer:$s]:--} | ${ROUNDS[floor:$s]:--} |"
      done
    fi
    echo
    local worst="" s2 r
    for s2 in "${SCENARIOS[@]}"; do
      if [ -n "${RPS[attesto:$s2]:-}" ] && [ -n "${RPS[peer:$s2]:-}" ]; then
        r="$(awk -v a="${RPS[attesto:$s2]}" -v b="${RPS[peer:$s2]}" 'BEGIN{ if (b>0) printf "%.6f", a/b; else print 0 }')"
        if [ -z "$worst" ] || awk -v r="$r" -v w="$worst" 'BEGIN{exit !(r<w)}'; then worst="$r"; fi
      fi
    done
    if [ -n "$worst" ]; then
      echo "Targets: ≥10× oidc-provider on every scenario — lowest ratio $(printf '%.1f' "$worst")× ($(awk -v w="$worst" 'BEGIN{print (w>=10)?"met":"NOT met"}')); ≥25,000 ES256 client_credentials tokens/s — $(fmt_rps "${RPS[attesto:client_credentials]:-}") ($(awk -v a="${RPS[attesto:client_credentials]:-0}" 'BEGIN{print (a>=25000)?"met":"NOT met"}'))."
      echo
    fi
    local contended=""
    for s2 in "${SCENARIOS[@]}"; do
      for srv in attesto sqlite peer floor; do
        if [ -n "${CORES[$srv:$s2]:-}" ] && awk -v o="${CORES[$srv:$s2]##* / }" -v q="$QUIET_CORES" 'BEGIN{ exit !(o >= q) }'; then
          contended="$contended $srv/$s2 (${CORES[$srv:$s2]##* / })"
        fi
      done
    done
    if [ -n "$contended" ]; then
      echo "**Contended runs** (other processes used ≥ $QUIET_CORES cores during the measurement; their req/s is low, rerun on a quiet machine):$contended"
      echo
    fi
    for s2 in "${SCENARIOS[@]}"; do
      for srv in attesto sqlite peer floor; do
        if [ -n "${FIRST_BAD[$srv:$s2]:-}" ]; then
          echo "- first bad response, $srv / $s2: \`${FIRST_BAD[$srv:$s2]}\`"
        fi
      done
    done
  } >"$RESULTS"
  cat "$RESULTS"
}

update_benchmarks() {
  local file="$REPO/BENCHMARKS.md" begin='<!-- load:begin (generated by bench/load/run.sh) -->' end='<!-- load:end -->'
  [ -f "$file" ] || printf '# Benchmarks\n' >"$file"
  if ! grep -qF "$begin" "$file"; then
    printf '\n## Load (HTTP)\n\n%s\n%s\n' "$begin" "$end" >>"$file"
  fi
  node -e '
    const fs = require("fs");
    const [file, begin, end, results] = process.argv.slice(1);
    const text = fs.readFileSync(file, "utf8");
    const a = text.indexOf(begin), b = text.indexOf(end);
    if (a < 0 || b < a) { console.error("markers not found in " + file); process.exit(1); }
    const body = fs.readFileSync(results, "utf8").trimEnd();
    fs.writeFileSync(file, text.slice(0, a + begin.length) + "\n" + body + "\n" + text.slice(b));
  ' "$file" "$begin" "$end" "$RESULTS"
  log "updated $file"
}

START_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
install_tools
for ROUND in $(seq 1 "$REPEAT"); do
  [ "$REPEAT" -gt 1 ] && log "round $ROUND of $REPEAT"
  case "$ONLY" in
    all) bench_peer; bench_attesto attesto memory:; bench_attesto sqlite ""; bench_floor ;;
    both) bench_peer; bench_attesto attesto memory: ;;
    peer) bench_peer ;;
    attesto) bench_attesto attesto memory:; bench_attesto sqlite "" ;;
    floor) bench_floor ;;
    *) die "ONLY must be all, both, attesto, peer or floor" ;;
  esac
done
pick_medians
report
[ "${UPDATE_BENCHMARKS:-0}" = 1 ] && update_benchmarks
log "raw wrk output in $LOG_DIR"
