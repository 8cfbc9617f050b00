#!/usr/bin/env bash
# Issue 15, case 2: the whole checkpoint is under one hash. Bytes damaged
# inside adam_v of the newest checkpoint (once a silent NaN resume) and inside
# adam_m of the one before (once silently other weights): --resume names both
# files and the problem, sets them aside as *.bad with their markers, resumes
# from the last good one and ends with the weights of an undamaged run.
# Predict skips a damaged best.h5 with a warning, and with every file damaged
# says which files failed the integrity check (not "run melon train first").
source "$(dirname "$0")/lib.sh"
"$MELON" generate --out "$WORK/data" --playlists 400 --songs 2000 --seed 5 --mel-mode none --quiet >/dev/null 2>&1
"$MELON" split --input "$WORK/data/train.json" --out "$WORK/split" >/dev/null 2>&1
ARGS=(--train "$WORK/split/orig/train.json" --questions "$WORK/split/questions/val.json"
      --hidden 16 --batch 32 --val-size 20 --threads 1 --min-song-count 2 --epochs 3 --checkpoint-every 4 --keep 3)
hash_of() { grep -o 'weights fnv1a64=[0-9a-f]*' "$1" | tail -1; }
ck() { printf '%s/ckpt-%010d.h5' "$1" "$2"; }
# poke FILE DATASET: four 0xff bytes (a NaN) 100 bytes into DATASET's storage.
poke() {
  local off
  off=$(h5dump -p -H -d "$2" "$1" | awk '/OFFSET/ {print $2}')
  [ -n "$off" ] || fail "no offset for $2 in $1"
  python3 -c "import sys; f=open(sys.argv[1],'r+b'); f.seek(int(sys.argv[2])+100); f.write(b'\xff'*4)" "$1" "$off"
}
command -v h5dump >/dev/null || fail "h5dump not found (Debian: hdf5-tools)"

"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/ref" --max-steps 16 2>"$WORK/ref.log" || { cat "$WORK/ref.log"; fail "reference run"; }
"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/a" --max-steps 12 2>"$WORK/a.log" || { cat "$WORK/a.log"; fail "first run"; }
for s in 4 8 12; do [ -f "$(ck "$WORK/a" $s).done" ] || fail "no DONE marker beside $(ck "$WORK/a" $s)"; done
poke "$(ck "$WORK/a" 12)" adam_v.song_out
poke "$(ck "$WORK/a" 8)" adam_m.input
size12=$(stat -c %s "$(ck "$WORK/a" 12)")

"$MELON" train "${ARGS[@]}" --checkpoint-dir "$WORK/a" --max-steps 16 --resume 2>"$WORK/a2.log" || { cat "$WORK/a2.log"; fail "resume past damaged checkpoints"; }
for s in 12 8; do
  grep -q "skipping unreadable checkpoint: $(ck "$WORK/a" $s): contents do not match the hash in its DONE marker.*set aside as $(basename "$(ck "$WORK/a" $s)").bad" "$WORK/a2.log" \
    || { cat "$WORK/a2.log"; fail "no warning naming the damaged $(ck "$WORK/a" $s)"; }
  [ -f "$(ck "$WORK/a" $s).bad" ] && [ -f "$(ck "$WORK/a" $s).done.bad" ] || fail "step $s: not set aside with its marker"
done
[ "$(stat -c %s "$(ck "$WORK/a" 12).bad")" = "$size12" ] || fail "the damaged file was changed"
grep -q "resuming from $(ck "$WORK/a" 4)" "$WORK/a2.log" || { cat "$WORK/a2.log"; fail "did not resume from step 4"; }
[ "$(hash_of "$WORK/ref.log")" = "$(hash_of "$WORK/a2.log")" ] || fail "weights differ from the undamaged run: $(hash_of "$WORK/ref.log") vs $(hash_of "$WORK/a2.log")"
grep -qi "nan" "$WORK/a2.log" && fail "NaN in the resumed run's log"
ls "$WORK/a" | sort > "$WORK/after.txt"
for f in ckpt-0000000008.h5.bad ckpt-0000000012.h5.bad ckpt-0000000012.h5 ckpt-0000000016.h5 ckpt-0000000016.h5.done; do
  grep -qx "$f" "$WORK/after.txt" || { cat "$WORK/after.txt"; fail "$f missing after the resume"; }
done
echo "ok  damaged adam_v (step 12) and adam_m (step 8): named, set aside as *.bad, resumed from 4 = undamaged run ($(hash_of "$WORK/a2.log"))"

# Predict: a damaged best.h5 is skipped (warning names it), the newest checkpoint used.
P=(--questions "$WORK/split/questions/val.json" --song-meta "$WORK/data/song_meta.json")
poke "$WORK/a/best.h5" param.song_out
"$MELON" predict "${P[@]}" --checkpoint-dir "$WORK/a" --out "$WORK/r.json" 2>"$WORK/p.log" || { cat "$WORK/p.log"; fail "predict with a damaged best.h5"; }
grep -q "skipping unreadable best-epoch weights.*$WORK/a/best.h5: contents do not match" "$WORK/p.log" || { cat "$WORK/p.log"; fail "no warning for best.h5"; }
echo "ok  predict: damaged best.h5 skipped with a warning, newest checkpoint used"
# Every file damaged: the error names them and the integrity check.
for f in "$WORK/a"/ckpt-*.h5; do truncate -s 5000 "$f"; done
expect_error "predict, every checkpoint damaged" "none passes the integrity check" \
  "$MELON" predict "${P[@]}" --checkpoint-dir "$WORK/a" --out "$WORK/r2.json"
grep -q "ckpt-0000000016.h5: 5000 bytes, its DONE marker says" "$WORK/err.txt" || { cat "$WORK/err.txt"; fail "predict's error does not name the file and the problem"; }
grep -q "run melon train first" "$WORK/err.txt" && fail "predict blames a missing training run"
[ -f "$WORK/r2.json" ] && fail "predict wrote results from damaged weights"
[ -z "$(find "$WORK" -name '*.tmp.*' -print -quit)" ] || fail "temporary files left behind"
echo "checkpoint integrity checks passed"
