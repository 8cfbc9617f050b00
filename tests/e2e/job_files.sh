#!/usr/bin/env bash
# Issue 15 case 7: job files (--config) with a typo or a bad value are errors
# naming the file, the line and the key, before any work; a BOM is accepted;
# top-level keys may belong to any command; the command line wins.
source "$(dirname "$0")/lib.sh"
D=$MELON_SRC/tests/data
split() { "$MELON" split --input "$D/playlists_small.json" --out "$WORK/out" "$@"; }
no_output() { [ ! -e "$WORK/out" ] || fail "$1: wrote $WORK/out before failing"; }

expect_error "a directory as job file" "config $WORK: is a directory" split --config "$WORK"
printf '# job\n[splitt]\nseed = 3\n' > "$WORK/section.ini"
expect_error "misspelt section" "section.ini:2: unknown section [splitt]" split --config "$WORK/section.ini"
printf 'threads = 2\nepochs = 3\nsede = 4\n' > "$WORK/top.ini"
expect_error "unknown top-level key" "top.ini:3: unknown top-level key 'sede': no melon command has an option 'sede' (did you mean 'seed'?)" \
  split --config "$WORK/top.ini"
printf '[split]\nsed = 4\n' > "$WORK/key.ini"
expect_error "unknown key in [split]" "key.ini:2: [split] has unknown option 'sed' (did you mean 'seed'?)" split --config "$WORK/key.ini"
printf '[split]\n\nseed = five\n' > "$WORK/number.ini"
expect_error "bad number" "number.ini:3: key 'seed' = 'five'" split --config "$WORK/number.ini"
printf '[split]\nseed = -1\n' > "$WORK/negative.ini"
expect_error "negative unsigned" "negative.ini:2: key 'seed': expected a number >= 0, got '-1'" split --config "$WORK/negative.ini"
printf '[split]\nseed = 1\nseed = 2\n' > "$WORK/twice.ini"
expect_error "duplicate key" "twice.ini:3: key 'seed' is set twice in [split]" split --config "$WORK/twice.ini"
no_output "bad job files"

# Good files: a BOM, top-level keys of other commands, [split] over the top
# level, the command line over both. Same seed, same split.
split --seed 777 2>/dev/null && mv "$WORK/out" "$WORK/ref"
printf '\xef\xbb\xbfseed = 1\nthreads = 2\nepochs = 3\n[split]\nseed = 777\n' > "$WORK/good.ini"
split --config "$WORK/good.ini" 2>/dev/null || fail "a job file with a BOM and other commands' top-level keys was refused"
diff -r "$WORK/ref" "$WORK/out" >/dev/null || fail "[split] seed = 777 did not override the top-level seed"
rm -rf "$WORK/out"
printf 'seed = 5\n[split]\nseed = 6\n' > "$WORK/override.ini"
split --config "$WORK/override.ini" --seed 777 2>/dev/null || fail "override.ini refused"
diff -r "$WORK/ref" "$WORK/out" >/dev/null || fail "--seed 777 on the command line did not win over the job file"
echo "ok  BOM accepted, [split] over top level, command line over both"

# The shipped job files stay valid under the stricter rules.
for j in "$MELON_SRC"/jobs/*.ini; do
  rc=0
  "$MELON" validate --config "$j" --data "$WORK/none" >/dev/null 2>"$WORK/err.txt" || rc=$?
  grep -q "config " "$WORK/err.txt" && { cat "$WORK/err.txt" >&2; fail "$j: refused"; }
done
echo "ok  jobs/*.ini accepted"
echo "job-file checks passed"
