#!/usr/bin/env bash
# docs/USAGE.md and README.md against the binary they describe. Every expectation comes from the
# code or the binary, not from a copy of its output: the version from CMakeLists.txt's project(),
# the commands from `sdkd --help` and their options from `sdkd <cmd> --help`, the preset tables
# from what `sdkd generate ns` writes and from configs/*.json, the eval table's numbers from its
# --json. README's usage commands are run as written on a tiny data set.
# Usage: docs_cli.sh path/to/sdkd
set -u
case $1 in /*) SDKD=$1 ;; *) SDKD=$PWD/$1 ;; esac
. "$(dirname "$0")/lib/expect.sh"  # fail, expect_error, finish
src=$(cd "$(dirname "$0")/../.." && pwd)
USAGE=$src/docs/USAGE.md
enter_temp_dir
ok() { echo "ok: $*"; }

# The lines of USAGE.md under the heading "## $1" (or "###"), up to the next heading of the same
# or a higher level; "" gives the text before the first "##". Code fences hold no headings.
section() {
  awk -v want="$1" '
    /^```/ { fence = !fence }
    !fence && /^#+ / {
      level = index($0, " ") - 1; title = substr($0, level + 2)
      if (want == "" && level == 2) exit
      if (on && level <= on) on = 0
      if (!on && title == want) { on = level; next }
    }
    want == "" || on' "$USAGE"
}

# ---- the version: CMakeLists.txt's project(), in --version, info and --help ----
want=$(sed -nE 's/^project\(sdkd VERSION ([0-9]+(\.[0-9]+)*)[ )].*/\1/p' "$src/CMakeLists.txt")
[ -n "$want" ] || fail "CMakeLists.txt: no project(sdkd VERSION ...)"
line=$("$SDKD" --version); rc=$?
[ $rc -eq 0 ] || fail "sdkd --version exited with $rc"
if printf '%s\n' "$line" | grep -qxE "sdkd $want \(([0-9a-f]{4,40}|unknown), [A-Za-z]+\)"; then ok "--version: $line"
else fail "sdkd --version printed '$line', expected 'sdkd $want (<commit>, <build type>)'"; fi
# The build type is the one the binary's build folder was configured with (when it says).
cache=$(dirname "$SDKD")/CMakeCache.txt
bt=$( [ -f "$cache" ] && sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache")
if [ -n "$bt" ]; then
  case "$line" in *", $bt)") ok "--version names the build type $bt" ;; *) fail "--version '$line' lacks the build type $bt" ;; esac
fi
info_first=$("$SDKD" info --preset smoke | head -n 1)
[ "$info_first" = "$line" ] || fail "sdkd info's first line '$info_first' is not the version line '$line'"
"$SDKD" --help | grep -q -- "--version" || fail "sdkd --help does not mention --version"

# ---- report's positional folder: in its --help and in USAGE's section ----
arg=$("$SDKD" report --help | sed -nE 's/^ +sdkd report \[OPTION\.\.\.\] ([A-Z_]+)$/\1/p')
if [ -n "$arg" ]; then ok "report --help shows its folder argument $arg"
else fail "sdkd report --help shows no positional folder argument: $("$SDKD" report --help | grep -A1 Usage)"; fi
section report | grep -q "sdkd report ${arg:-RUN}" || fail "USAGE.md's report section does not show 'sdkd report $arg'"
expect_error "run folder is required" "$SDKD" report

# ---- every command of `sdkd --help`: a USAGE section documenting each of its options ----
commands=$("$SDKD" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { sub(/^  /, ""); split($0, a, /   */); print a[1] }')
[ "$(printf '%s\n' "$commands" | grep -c .)" -ge 8 ] || fail "sdkd --help lists too few commands: $commands"
# Where a command's options may be documented: its section, the sections every command shares,
# and the ones its section defers to ("the training options of train").
docs_for() {
  section ""; section Devices; section Data; section "$1"
  case $1 in distill) section train ;; demo) section train; section distill ;; esac
}
while IFS= read -r cmd; do
  grep -qxE "#{2,3} $cmd" "$USAGE" || { fail "USAGE.md has no heading '## $cmd'"; continue; }
  text=$(docs_for "$cmd")
  # shellcheck disable=SC2086  # "generate ns" is two words
  opts=$("$SDKD" $cmd --help | grep -oE '^ +(-[A-Za-z], )?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
  [ -n "$opts" ] || fail "sdkd $cmd --help lists no options"
  missing=""
  for o in $opts; do printf '%s\n' "$text" | grep -qE -- "$o([^a-z0-9-]|\$)" || missing="$missing $o"; done
  if [ -z "$missing" ]; then ok "USAGE.md documents $cmd and its $(echo $opts | wc -w) options"
  else fail "USAGE.md's $cmd section (or Devices/Data) does not mention:$missing"; fi
  # Help texts cite documents that exist, never the SPEC.md the repo does not hold.
  # shellcheck disable=SC2086
  help=$("$SDKD" $cmd --help)
  printf '%s\n' "$help" | grep -q "SPEC" && fail "sdkd $cmd --help cites SPEC: $(printf '%s\n' "$help" | grep SPEC)"
  for doc in $(printf '%s\n' "$help" | grep -oE 'docs/[A-Za-z_]+\.md' | sort -u); do
    [ -f "$src/$doc" ] || fail "sdkd $cmd --help cites $doc, which does not exist"
  done
done <<< "$commands"

# ---- the NS preset table against what `sdkd generate ns` writes ----
# Every preset: its parameters and shape from the progress record <out>.partial.json, written
# before the first trajectory is solved (the run is then stopped); the smoke preset also solved
# in full and its shape read back by `sdkd data info`.
section "generate ns" > ns_section.md
SDKD="$SDKD" python3 - <<'PY' || fail "USAGE.md's NS preset table"
import json, os, re, subprocess, sys, time
sdkd = os.environ["SDKD"]
rows = [[c.strip() for c in l.strip().strip("|").split("|")] for l in open("ns_section.md") if l.startswith("| `")]
table = {r[0].strip("`"): r for r in rows}
err = subprocess.run([sdkd, "generate", "ns", "--preset", "no-such", "--out", "x.npy"], capture_output=True, text=True).stderr
names = re.search(r"expected one of (.*)", err).group(1).strip().split(", ")
assert sorted(table) == sorted(names), ("table rows", sorted(table), "presets", sorted(names))

def record(name):
    out = f"rec_{name}.npy"
    p = subprocess.Popen([sdkd, "generate", "ns", "--preset", name, "--out", out, "--threads", "1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                return json.load(open(out + ".partial.json"))
            except (OSError, ValueError):
                time.sleep(0.1)
        raise AssertionError(f"{name}: no {out}.partial.json after 30 s")
    finally:
        p.kill()
        p.wait()

def check(name, params, shape):
    want = table[name]
    solve, stored = (int(v) for v in want[2].split("->"))
    scheme, dt = (v.strip() for v in want[3].split(","))
    got = {"trajectories": params["trajectories"], "solve -> stored": (params["solve_resolution"], params["resolution"]),
           "scheme": params["scheme"], "dt": params["dt"], "frames": params["frames"], "nu": params["viscosity"],
           "shape": shape}
    doc = {"trajectories": int(want[1]), "solve -> stored": (solve, stored), "scheme": scheme, "dt": float(dt),
           "frames": int(want[4]), "nu": float(want[5]), "shape": [int(want[1]), int(want[4]), 1, stored, stored]}
    assert got == doc, (name, "generate ns gives", got, "USAGE.md says", doc)

for name in names:
    rec = record(name)
    check(name, rec["identity"]["parameters"], rec["shape"])
# The smoke preset in full: the file's shape as `sdkd data info` reads it, the side file's parameters.
subprocess.run([sdkd, "generate", "ns", "--preset", "smoke", "--out", "smoke.npy", "--threads", "2"],
               check=True, capture_output=True)
info = subprocess.run([sdkd, "data", "info", "smoke.npy"], check=True, capture_output=True, text=True).stdout
shape = [int(v) for v in re.search(r"\((\d+(?:, \d+)+)\)", info).group(1).split(", ")]
check("smoke", json.load(open("smoke.npy.json"))["parameters"], shape)
print("ok: NS preset table:", ", ".join(names), "(smoke generated in full)")
PY

# ---- the training preset table against configs/*.json and the presets the binary holds ----
section Presets > presets_section.md
SDKD="$SDKD" CONFIGS="$src/configs" python3 - <<'PY' || fail "USAGE.md's training preset table"
import glob, json, os, re, subprocess
sdkd = os.environ["SDKD"]
rows = [[c.strip() for c in l.strip().strip("|").split("|")] for l in open("presets_section.md") if l.startswith("| `")]
table = {r[0].strip("`"): r for r in rows}
configs = {os.path.basename(f)[:-5]: json.load(open(f)) for f in glob.glob(os.environ["CONFIGS"] + "/*.json")}
err = subprocess.run([sdkd, "demo", "--preset", "no-such"], capture_output=True, text=True).stderr
builtin = re.search(r"available: ([^;)]*)", err).group(1).split(", ")
assert sorted(table) == sorted(configs) == sorted(builtin), ("table", sorted(table), "configs", sorted(configs), "binary", sorted(builtin))
nums = lambda text: [float(v) for v in re.findall(r"\d+(?:\.\d+)?(?:e-?\d+)?", text)]
for name, p in configs.items():
    _, data, student, teachers, epochs, batch_lr, seeds, methods, kd = table[name]
    m, t, k, st, ts = p["model"], p["train"], p["kd"], p["study"], p["teachers"]
    assert data == f"`{p['data']['preset']}` -> `{p['data']['file']}`", (name, data)
    assert student.startswith(f"`{m['name']}` hidden {m['hidden']}") and ("residual" in student) == m["residual"], (name, student)
    assert re.findall(r"`(\w+)`", teachers) == [x["model"]["name"] for x in ts], (name, teachers)
    for x, part in zip(ts, re.split(r"`\w+`", teachers)[1:]):
        for key in ("hid_S", "hid_T", "N_S", "N_T", "heads"):
            if key in x["model"]:
                assert f"{key} {x['model'][key]}" in part, (name, x["model"]["name"], key, part)
        assert ("onecycle" in part) == (x["train"].get("schedule") == "onecycle"), (name, part)
        assert (x["train"]["batch_size"], x["train"]["lr"]) == (t["batch_size"], t["lr"]), (name, "teacher batch/lr")
    assert nums(epochs) == [t["epochs"]] + [x["train"]["epochs"] for x in ts], (name, epochs)
    assert nums(batch_lr) == [t["batch_size"], t["lr"]], (name, batch_lr)
    assert int(seeds) == st["seeds"] and methods.split(", ") == st["methods"], (name, seeds, methods)
    assert kd.startswith(f"`{k['method']}`"), (name, kd)
    for key in ("lambda", "alpha"):
        assert re.search(rf"{key} ([\d.]+)", kd) and float(re.search(rf"{key} ([\d.]+)", kd).group(1)) == k[key], (name, key, kd)
    taps = re.search(r"taps (.*?)(?:, weighting|$)", kd).group(1).split(", ")
    assert taps == k["taps"] and ("weighting " + k["weighting"] in kd if "weighting" in k else "weighting" not in kd), (name, kd)
print("ok: training preset table:", ", ".join(sorted(table)))
PY

# ---- sdkd eval on a lone checkpoint: PSNR, no seed / kd / training time, numbers as its --json ----
"$SDKD" generate ns --preset smoke --trajectories 8 --out tiny.npy --threads 2 > /dev/null 2>&1 || fail "generate tiny.npy"
"$SDKD" train --preset smoke --data tiny.npy --epochs 1 --out one --threads 2 > /dev/null 2>&1 || fail "train 1 epoch"
"$SDKD" eval --preset smoke --data tiny.npy --checkpoint one/best.safetensors --json one/test.json --threads 2 \
  > eval.txt 2> eval.err || fail "eval: $(tail -1 eval.err)"
python3 - <<'PY' || fail "sdkd eval's table"
import json
lines = open("eval.txt").read().split("\n")
head = lines[0].split()
for gone in ("seed", "kd", "train"):  # "train s": no training time for a lone checkpoint
    assert gone not in head, ("eval's table has the column", gone, lines[0])
rows = json.load(open("one/test.json"))["rows"]
for row, line in zip(rows, lines[1:1 + len(rows)]):
    cells = line.split()
    assert cells[0] == row["model"], (cells, row["model"])
    for col, key, digits in (("PSNR", "psnr", 2), ("SSIM", "ssim", 4), ("MSE", "mse", 4)):
        assert cells[head.index(col)] == f"{row[key]:.{digits}f}", (col, cells[head.index(col)], row[key])
print("ok: eval table:", lines[0])
PY

# ---- info --size 0: refused before any work, one line naming the option ----
expect_error "--size must be an integer in [1, " "$SDKD" info --size 0
[ -z "$("$SDKD" info --size 0 2>/dev/null)" ] || fail "sdkd info --size 0 printed output before refusing"

# ---- README's usage commands, run as written on a tiny data set ----
# Changes for speed only: the smoke preset for demo, 8 trajectories, 1 epoch; GPU lines skipped.
awk '/^## Usage/ { on = 1 } on && /^```sh/ { block = 1; next } block && /^```/ { exit } block' "$src/README.md" \
  | grep '^\$B ' > readme_cmds.txt
[ "$(grep -c . readme_cmds.txt)" -ge 6 ] || fail "README.md's usage block has too few \$B commands"
while IFS= read -r cmd; do
  run=$(printf '%s\n' "$cmd" | sed -E 's/ +#.*$//; s/--preset demo/--preset smoke/')
  case "$run" in
    *"--device cuda"*) echo "skipped (GPU): $cmd"; continue ;;
    *" generate ns "*) run="$run --trajectories 8" ;;
    *" train "* | *" distill "* | *" demo "*) run="$run --epochs 1" ;;
  esac
  if (B=$SDKD; eval "$run") > readme_out.txt 2> readme_err.txt; then ok "README: $run"
  else fail "README.md's '$cmd' (run as '$run'): $(tail -n 1 readme_err.txt)"; fi
  case "$run" in  # demo's study table keeps the columns a lone checkpoint leaves out, and gains PSNR
    *" demo "*) grep -qE '^model +role +kd +seed .*PSNR.*train s' readme_out.txt || fail "demo's table: $(grep -m1 '^model' readme_out.txt)" ;;
  esac
done < readme_cmds.txt

finish
