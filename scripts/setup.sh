#!/usr/bin/env bash
# Installs what is missing (Debian packages only), configures and builds attestlab.
#   scripts/setup.sh            install + build (release preset)
#   scripts/setup.sh --test     install + build + run the whole test suite (ctest, the
#                               fault-injection verdict tests included), then the
#                               fuzz targets (scripts/fuzz.sh: corpus regression and a
#                               bounded fresh run) and the sanitizer suites
#                               (scripts/sanitizers.sh: TSan, ASan+UBSan). For a quicker
#                               local run: ATTESTLAB_CI_FUZZ=0 / ATTESTLAB_CI_SANITIZERS=0
#                               leave those out (CI runs everything)
#   scripts/setup.sh --preset asan --test   same with another preset
# Idempotent: apt-get update/install run only when a package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=release
run_tests=0
while [ $# -gt 0 ]; do
  case "$1" in
    --test) run_tests=1 ;;
    --preset) preset="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

packages=(
  # toolchain and build
  g++ cmake ninja-build ccache pkg-config git openssl curl
  # libraries
  libssl-dev libboost-dev libboost-system-dev nlohmann-json3-dev libplist-dev libsqlite3-dev
  libpq-dev libpqxx-dev libcli11-dev libc-ares-dev nettle-dev libgmp-dev libgtest-dev libgmock-dev libbenchmark-dev
  pybind11-dev python3-dev clang-14 libclang-rt-14-dev
  # tools and real peers used by the tests
  libplist-utils sqlite3 postgresql pebble lego certbot
  python3-acme python3-josepy python3-cryptography python3-cbor2 python3-pytest
  chromium
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# One line per finished phase with its wall time, so a slow run shows where it went.
phase_start=$SECONDS
phase_done() {
  echo "setup: $1 took $((SECONDS - phase_start)) s (${SECONDS} s in all)"
  phase_start=$SECONDS
}
if [ ${#missing[@]} -gt 0 ]; then phase_done "installing packages"; fi

jobs=$(nproc)
configure=()
# The test build also makes attestlab-faults (server::ServerFaults compiled in, never
# shipped) from fault variants of the server and cli libraries only: the faults tests
# (label faults) prove that scenarios and conformance cases fail when the server check
# they rely on is switched off, without a second build tree.
[ $run_tests -eq 1 ] && [ "$preset" = release ] && configure+=(-DATTESTLAB_FAULTS_VARIANT=ON)
cmake --preset "$preset" "${configure[@]}" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
phase_done "the $preset build"

if [ $run_tests -eq 1 ]; then
  ctest --test-dir "build/$preset" --output-on-failure -j "$jobs" --timeout 600
  phase_done "ctest"
  if [ "$preset" = release ]; then
    # No input may crash anything: every libFuzzer target over its corpus, then
    # ATTESTLAB_FUZZ_SECONDS (default 30) of fresh fuzzing each. Data races in the server's
    # concurrency (TSan) and memory errors and UB in the modules that take hostile input
    # (ASan+UBSan). Each builds only what it tests. Measured on a 2-core machine
    # (bench/RESULTS.md "CI budget"): about 20 min for the three together.
    if [ "${ATTESTLAB_CI_FUZZ:-1}" = 1 ]; then
      scripts/fuzz.sh --seconds "${ATTESTLAB_FUZZ_SECONDS:-30}"
      phase_done "fuzzing"
    fi
    if [ "${ATTESTLAB_CI_SANITIZERS:-1}" = 1 ]; then
      scripts/sanitizers.sh tsan asan
      phase_done "the sanitizer suites"
    fi
  fi
fi
