# Shared by the CLI test scripts (tests/tools/*.sh; this folder is not a test itself).
# Source it after setting nothing: it defines `fails` (0), enter_temp_dir, fail, expect_error
# and expect_error_last, and the scripts end with `finish`.
#
# The contract of a bad-input error (docs/USAGE.md): exit status 2 (not 1, not a signal), no
# "internal error" anywhere, and the reason in one line.

fails=0

# enter_temp_dir: cd into a fresh temporary folder, $work, removed when the script exits.
enter_temp_dir() {
  work=$(mktemp -d) || exit 1
  trap 'rm -rf "$work"' EXIT
  cd "$work" || exit 1
}

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# _expect MODE WANT command...: MODE "one" wants exactly one line of output on stderr, "last"
# allows progress lines before it and reads the last one.
_expect() {
  local mode=$1 want=$2; shift 2
  local out rc line
  out=$("$@" 2>&1 >/dev/null); rc=$?
  line=$(printf '%s\n' "$out" | tail -n 1)
  if [ $rc -ne 2 ]; then fail "'$*' exited with $rc, expected 2: $out"; return; fi
  if printf '%s\n' "$out" | grep -q "internal error"; then fail "'$*': $out"; return; fi
  if [ "$mode" = one ] && [ "$(printf '%s\n' "$out" | grep -c .)" -ne 1 ]; then
    fail "'$*' printed more than one line: $out"; return
  fi
  case "$line" in
    *"$want"*) echo "ok: $*  ->  $line" ;;
    *) fail "'$*' said: $line (expected it to contain: $want)" ;;
  esac
}

# expect_error "<substring>" command...: a bad-input error of exactly one line containing it.
expect_error() { _expect one "$@"; }
# expect_error_last "<substring>" command...: the same for a command that may print progress
# (training epochs, a generation bar) before it fails; the last line holds the reason.
expect_error_last() { _expect last "$@"; }

# The script's exit: the count of failures, 0 when all held.
finish() {
  if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
  echo "all checks passed"
}
