#!/usr/bin/env bash
# `sdkd generate ns` writes batch by batch and resumes: a real SIGKILL after the progress record
# shows a finished batch, then a rerun of the same command, must give a file byte-identical to
# an uninterrupted run (whatever --batch and --threads the runs use); the final name never holds
# a partial file; a rerun with another parameter starts over (and says what changed); a damaged
# partial file or record is never resumed; a second writer of the same file is refused.
# Usage: ns_resume.sh path/to/sdkd
set -u
SDKD=$1
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, finish
work=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"

# 16 smoke trajectories of 20 frames at 32^2, about 0.1 s each here: slow enough to kill
# between batches of one, fast enough for a test.
GEN=("$SDKD" generate ns --preset smoke --trajectories 16)

# rows_done of a progress record (empty when there is none).
done_in() { sed -n 's/.*"rows_done": *\([0-9]*\).*/\1/p' "$1" 2>/dev/null; }

# start_and_kill OUT ARGS...: starts a generation in the background, waits until its record
# counts a batch more than before it started (one at least), checks that the final name does
# not exist meanwhile, and kills it with SIGKILL. Fails when the run ended before it could be
# killed.
start_and_kill() {
  local out=$1; shift
  local want=$(( $(done_in "$out.partial.json" || true) + 1 )) d
  "${GEN[@]}" --out "$out" "$@" > "$out.log" 2>&1 &
  pid=$!
  local n=0
  while kill -0 "$pid" 2>/dev/null; do
    [ -e "$out" ] && fail "$out exists while the generation runs"
    d=$(done_in "$out.partial.json")
    [ -n "$d" ] && [ "$d" -ge "$want" ] && break
    sleep 0.02
    n=$((n + 1))
    [ $n -gt 3000 ] && { fail "no batch finished within 60 s"; break; }
  done
  kill -9 "$pid" 2>/dev/null || fail "the generation of $out ended before it could be killed (too fast?)"
  wait "$pid" 2>/dev/null
  pid=
}

# ---- the uninterrupted references ----
"${GEN[@]}" --out ref.npy --threads 1 2>ref.log || fail "reference run exited $?"
"${GEN[@]}" --out ref_seed1.npy --seed 1 --threads 2 2>/dev/null || fail "seed-1 reference exited $?"
[ -e ref.npy.partial ] || [ -e ref.npy.partial.json ] && fail "a finished run left its partial file or record"
cmp -s ref.npy ref_seed1.npy && fail "seeds 0 and 1 gave the same file (the comparisons below could not fail)"

# ---- kill after a batch, rerun, compare ----
start_and_kill a.npy --batch 1 --threads 1
[ -e a.npy ] && fail "a.npy exists after the kill: a partial file took the final name"
[ -e a.npy.json ] && fail "a.npy.json exists after the kill"
[ -e a.npy.partial ] || fail "no a.npy.partial after the kill"
k=$(done_in a.npy.partial.json)
echo "killed after $k of 16 trajectories"
[ -n "$k" ] && [ "$k" -ge 1 ] && [ "$k" -lt 16 ] || fail "record after the kill counts '$k' trajectories"
# The rerun: another batch size and thread count (the data do not depend on them).
"${GEN[@]}" --out a.npy --batch 3 --threads 2 2>a.rerun.log || fail "rerun exited $?"
grep -q "resuming a.npy: $k of 16 done" a.rerun.log || fail "rerun did not resume after $k: $(cat a.rerun.log)"
cmp ref.npy a.npy || fail "resumed file differs from the uninterrupted one"
[ -e a.npy.partial ] || [ -e a.npy.partial.json ] && fail "the resumed run left its partial file or record"
grep -q '"vorticity_std_per_frame"' a.npy.json || fail "no side file after the resumed run"
sed -n '/vorticity_std_per_frame/,$p' ref.npy.json > ref.std
sed -n '/vorticity_std_per_frame/,$p' a.npy.json > a.std
cmp -s ref.std a.std || fail "the side file's statistics differ from the uninterrupted run's"

# ---- a second kill of the rerun: resumes again ----
start_and_kill b.npy --batch 2 --threads 1
start_and_kill b.npy --batch 1 --threads 1  # resumes, then killed again after a batch of its own
k2=$(done_in b.npy.partial.json)
"${GEN[@]}" --out b.npy --threads 1 2>b.rerun.log || fail "b rerun exited $?"
grep -q "resuming b.npy: $k2 of 16 done" b.rerun.log || fail "b rerun did not resume after $k2: $(cat b.rerun.log)"
cmp ref.npy b.npy || fail "twice-resumed file differs from the uninterrupted one"

# ---- another parameter on rerun: start over, saying what changed ----
start_and_kill c.npy --batch 1 --threads 1
"${GEN[@]}" --out c.npy --seed 1 --threads 1 2>c.rerun.log || fail "c rerun exited $?"
grep -q "c.npy.partial: started with other settings (seed 0 -> 1): starting over" c.rerun.log ||
  fail "changed seed: no 'starting over' naming the seed: $(cat c.rerun.log)"
grep -q "resuming" c.rerun.log && fail "changed seed: resumed anyway"
cmp ref_seed1.npy c.npy || fail "started-over file differs from the uninterrupted seed-1 run"

# ---- damaged leftovers are never resumed ----
start_and_kill d.npy --batch 1 --threads 1
echo '{"rows_done": ' > d.npy.partial.json  # a record cut short
"${GEN[@]}" --out d.npy --threads 1 2>d.rerun.log || fail "d rerun exited $?"
grep -q "unreadable progress record" d.rerun.log || fail "cut record: $(cat d.rerun.log)"
cmp ref.npy d.npy || fail "file after a cut record differs"

start_and_kill e.npy --batch 1 --threads 1
truncate -s 200 e.npy.partial  # the data the record vouches for are gone
"${GEN[@]}" --out e.npy --threads 1 2>e.rerun.log || fail "e rerun exited $?"
grep -q "fewer than the .* rows its record counts: starting over" e.rerun.log || fail "short partial: $(cat e.rerun.log)"
cmp ref.npy e.npy || fail "file after a short partial differs"

start_and_kill f.npy --batch 1 --threads 1
rm f.npy.partial.json  # data without a record
"${GEN[@]}" --out f.npy --threads 1 2>f.rerun.log || fail "f rerun exited $?"
grep -q "no progress record beside it: starting over" f.rerun.log || fail "partial without record: $(cat f.rerun.log)"
cmp ref.npy f.npy || fail "file after a partial without record differs"

# ---- --force discards an interrupted run ----
start_and_kill g.npy --batch 1 --threads 1
"${GEN[@]}" --out g.npy --threads 1 --force 2>g.rerun.log || fail "g --force exited $?"
grep -q "resuming" g.rerun.log && fail "--force resumed the interrupted run"
cmp ref.npy g.npy || fail "file after --force differs"

# ---- one writer at a time ----
"${GEN[@]}" --out h.npy --batch 1 --threads 1 > /dev/null 2>&1 &
pid=$!
n=0
until [ -e h.npy.partial.json ] || [ $n -gt 1000 ]; do sleep 0.01; n=$((n + 1)); done
expect_error "another sdkd process is generating h.npy" "${GEN[@]}" --out h.npy --threads 1
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=

expect_error "--batch: expected a number of trajectories >= 1, got 0" "${GEN[@]}" --out z.npy --batch 0
[ -e z.npy ] || [ -e z.npy.partial ] && fail "a refused --batch left files"
finish
