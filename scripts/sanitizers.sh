#!/usr/bin/env bash
# The unit and integration tests under the sanitizers, as CI runs them:
#   asan  ASan+UBSan, UB fatal: ASAN_TESTS, by default the unit tests of the modules that
#         take hostile input off the wire (core, client, the server's store, attest and
#         acme rooms). Built in the fuzz preset's tree (clang-14, the same sanitizers), whose
#         libraries scripts/fuzz.sh has already built, so CI compiles only the tests;
#         ASAN_PRESET=asan builds them with g++ in their own tree instead. sim/ and the
#         integration tests are left out to keep CI within its hour (the sim/mdm plist
#         parsers run under ASan+UBSan in fuzz/ instead); ASAN_TESTS="... sim_mdm_tests"
#         adds them;
#   tsan  the tsan preset (clang-14, ThreadSanitizer; g++ 12 refuses -fsanitize=thread on
#         the atomic_thread_fence in libstdc++/Asio under -Werror): the server's
#         concurrency tests (nonces consumed from eight threads and racing transitions in
#         the store, acme_concurrency_test: many clients, racing finalizes, racing account
#         updates, one nonce raced for by many threads; metrics, validation pool, device
#         attestation). No suppressions: any report fails.
#   scripts/sanitizers.sh [asan|tsan]...     (default: both)
# Each gtest binary runs directly (the e2e tests need peers and the full executable,
# which these builds do not make).
set -euo pipefail
cd "$(dirname "$0")/.."

ASAN_TESTS=${ASAN_TESTS:-"core_tests client_tests server_store_tests server_attest_tests server_acme_tests"}
ASAN_PRESET=${ASAN_PRESET:-fuzz}
TSAN_TESTS=${TSAN_TESTS:-"server_store_tests server_acme_tests server_attest_tests"}

run_suite() {  # preset "targets"
  local preset=$1 targets=$2 failed=()
  cmake --preset "$preset" >/dev/null
  # shellcheck disable=SC2086
  cmake --build "build/$preset" -j "$(nproc)" --target $targets
  for t in $targets; do
    local bin
    bin=$(find "build/$preset" -type f -name "$t" -perm -u+x | head -1)
    [ -n "$bin" ] || { echo "sanitizers.sh: $t was not built" >&2; exit 1; }
    echo "== $preset: $t"
    if ! "$bin" --gtest_brief=1 >"build/$preset/$t.log" 2>&1; then
      failed+=("$t")
      grep -m1 -B2 -A30 -E 'ERROR: (Address|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer|runtime error|\[  FAILED  \]' \
        "build/$preset/$t.log" >&2 || tail -n 40 "build/$preset/$t.log" >&2
    fi
  done
  if [ ${#failed[@]} -gt 0 ]; then
    echo "sanitizers.sh: $preset failures in: ${failed[*]} (logs in build/$preset/*.log)" >&2
    return 1
  fi
}

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(asan tsan)
rc=0
for suite in "${suites[@]}"; do
  case "$suite" in
    asan)
      ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1" \
      UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
        run_suite "$ASAN_PRESET" "$ASAN_TESTS" || rc=1 ;;
    tsan)
      TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
        run_suite tsan "$TSAN_TESTS" || rc=1 ;;
    *) echo "sanitizers.sh: unknown suite $suite (asan | tsan)" >&2; exit 2 ;;
  esac
done
exit $rc
