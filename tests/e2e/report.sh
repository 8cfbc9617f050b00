#!/usr/bin/env bash
# melon report end to end: a small pipeline (2 ranks) ends by writing
# WORK/report.html beside run.json, checkpoints/curve.json and
# ranker/ranker-report.json; the HTML is well-formed (python3 html.parser),
# every section has its plot, and every plot a title and two axis labels.
# An interrupted-and-resumed training shows two segments with the resume
# marked. Headless Chromium renders the report to a PNG that is not blank;
# without chromium the test is skipped (exit 77).
source "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null || { echo "SKIP: chromium not installed (tools/setup.sh installs it)"; exit 77; }
# The screenshot check needs Pillow: Debian's python3-pil, also where python3 is another interpreter (pyenv).
PYPIL=
for py in python3 /usr/bin/python3; do "$py" -c 'import PIL' 2>/dev/null && { PYPIL=$py; break; }; done
[ -n "$PYPIL" ] || { echo "SKIP: python3-pil not installed (tools/setup.sh installs it)"; exit 77; }

JOB=$WORK/job.ini
cat > "$JOB" <<'INI'
[generate]
playlists = 800
songs = 3000
seed = 5
mel-songs = 0
[pipeline]
methods = most-popular
[pca]
mel-source = synthetic:5:3000
components = 6
pool = 64
seed = 1
[train]
epochs = 2
hidden = 16
batch = 64
threads = 1
val-size = 150
seed = 1
[rerank]
references = item-knn
rounds = 20
tag-rounds = 20
threads = 1
INI
"$MPIRUN" "${MPIFLAGS[@]}" -np 2 "$MELON" pipeline --config "$JOB" --data "$WORK/data" --work "$WORK/run" \
  >"$WORK/pipeline.out" 2>"$WORK/pipeline.log" || { tail -30 "$WORK/pipeline.log"; fail "pipeline failed"; }
grep -qF "report: $WORK/run/report.html" "$WORK/pipeline.out" || fail "the pipeline did not print the report's path"
for f in report.html run.json checkpoints/curve.json ranker/ranker-report.json; do
  [ -s "$WORK/run/$f" ] || fail "no $WORK/run/$f"
done
echo "ok  pipeline wrote report.html, run.json, curve.json, ranker-report.json"

# check_html FILE SECTIONS...: well-formed; each named section holds an <svg>;
# every <svg> has a <title> and two non-empty axis labels; no section of
# SECTIONS says "not available".
check_html() {
  python3 - "$@" <<'PY'
import sys
from html.parser import HTMLParser
VOID = {"meta", "br", "img", "hr", "input", "link"}
class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.errors, self.section, self.svgs = [], [], None, []
        self.sections, self.text_of = {}, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.section = a.get("id"); self.sections[self.section] = {"svgs": 0, "na": False}
        if tag == "svg":
            self.svgs.append({"section": self.section, "title": "", "labels": []})
            self.sections[self.section]["svgs"] += 1
        if tag == "title" and self.stack and self.stack[-1] == "svg":
            self.text_of = ("title", self.svgs[-1])
        if tag == "text" and "axis-label" in a.get("class", ""):
            self.svgs[-1]["labels"].append(""); self.text_of = ("label", self.svgs[-1])
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        pass
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s> at %s" % (tag, self.stack[-1] if self.stack else "", self.getpos()))
        else:
            self.stack.pop()
        if tag in ("title", "text"): self.text_of = None
        if tag == "section": self.section = None
    def handle_data(self, data):
        if self.text_of:
            kind, svg = self.text_of
            if kind == "title": svg["title"] += data
            else: svg["labels"][-1] += data
        if data.strip().startswith("not available:") and self.section: self.sections[self.section]["na"] = True
path, want = sys.argv[1], sys.argv[2:]
p = P(); p.feed(open(path, encoding="utf-8").read()); p.close()
bad = list(p.errors)
if p.stack: bad.append("never closed: %s" % p.stack)
for s in ["scores", "training", "pca", "reranker", "run"]:
    if s not in p.sections: bad.append("no section " + s)
for s in want:
    if p.sections.get(s, {}).get("svgs", 0) == 0: bad.append("section %s has no <svg>" % s)
    if p.sections.get(s, {}).get("na"): bad.append("section %s says not available" % s)
for i, svg in enumerate(p.svgs):
    if not svg["title"].strip(): bad.append("plot %d (%s) has no <title>" % (i, svg["section"]))
    if len(svg["labels"]) != 2 or not all(l.strip() for l in svg["labels"]):
        bad.append("plot %d (%s, %r) has axis labels %r" % (i, svg["section"], svg["title"], svg["labels"]))
if bad:
    print("\n".join(bad)); sys.exit(1)
print("%d plots in %d sections" % (len(p.svgs), len(p.sections)))
PY
}
out=$(check_html "$WORK/run/report.html" scores training pca reranker run) || { echo "$out"; fail "report.html"; }
echo "ok  report.html well-formed: $out, each with a title and two axis labels"

# Interrupted after one epoch and a step, then resumed: two segments, the resume marked.
T=(--config "$JOB" --train "$WORK/run/split/orig/train.json" --questions "$WORK/run/split/questions/val.json"
   --checkpoint-dir "$WORK/ck" --epochs 3)
spe=$(grep -o '[0-9]* steps/epoch' "$WORK/pipeline.log" | head -1 | cut -d' ' -f1)
[ -n "$spe" ] || fail "no steps/epoch in the pipeline's log"
"$MELON" train "${T[@]}" --max-steps $((spe + 1)) 2>"$WORK/t1.log" || { cat "$WORK/t1.log"; fail "first training run"; }
"$MELON" train "${T[@]}" --resume 2>"$WORK/t2.log" || { cat "$WORK/t2.log"; fail "resumed training run"; }
grep -q "resuming from" "$WORK/t2.log" || fail "the second run did not resume"
"$MELON" report --work "$WORK/run" --checkpoint-dir "$WORK/ck" --out "$WORK/resumed.html" 2>/dev/null ||
  fail "melon report on the resumed run"
out=$(check_html "$WORK/resumed.html" training) || { echo "$out"; fail "resumed.html"; }
python3 - "$WORK/ck/curve.json" "$WORK/resumed.html" $((spe + 1)) <<'PY' || fail "the resumed curve"
import json, sys
c = json.load(open(sys.argv[1]))["epochs"]
segs = sorted({e["segment"] for e in c})
assert segs == [0, 1], "segments %s" % segs
assert [e["epoch"] for e in c] == [1, 2, 3], [e["epoch"] for e in c]
assert c[1]["resumed_from"] == int(sys.argv[3]), c[1]
html = open(sys.argv[2], encoding="utf-8").read()
assert "run 2 (resumed at step %s)" % sys.argv[3] in html, "no second segment on the curve"
assert html.count(">resumed at step %s</text>" % sys.argv[3]) >= 2, "the resume is not marked on the plots"
PY
echo "ok  interrupted at step $((spe + 1)) and resumed: two segments, the resume marked"

# Rendered by a real browser: the screenshot is not blank.
shot() {
  local profile; profile=$(mktemp -d "$WORK/chromium.XXXXXX")
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$profile" \
    --screenshot="$2" --window-size=1200,3000 "file://$1" >"$WORK/chromium.log" 2>&1 || true
  [ -s "$2" ] || { tail -5 "$WORK/chromium.log"; fail "chromium wrote no screenshot of $1"; }
}
shot "$WORK/run/report.html" "$WORK/report.png"
"$PYPIL" - "$WORK/report.png" <<'PY' || fail "the screenshot looks blank"
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
assert im.size == (1200, 3000), im.size
colours = im.getcolors(1 << 24)
n = len(colours)
white = max(colours)[0] / (im.size[0] * im.size[1])
print("screenshot: %d distinct colours, most common covers %.0f%%" % (n, 100 * white))
assert n > 50 and white < 0.97
PY
echo "report checks passed"
