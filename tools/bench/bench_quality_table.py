#!/usr/bin/env python3
"""Tables and verdict of tools/bench/bench_quality.sh (which runs everything).

Reads WORK/D/scores/NAME.json (`melon evaluate --json`), WORK/D/times/STEP.txt
("wall_s peak_kb [resumed]", GNU time's %e %M of the step's mpirun) and
WORK/D/settings.txt; prints per dataset one table (method x question type:
song nDCG, tag nDCG, score; wall time and peak MB per rank on the "all" rows)
and a verdict block, and writes the same as markdown to WORK/report.md.
Standard library only."""
import argparse
import json
import os
import sys

TYPES = ["all", "songs only", "songs+tags", "tags only", "title only"]
REFERENCES = ["item-knn", "playlist-knn", "ease"]  # the "best single reference" candidates
# (label, scores file, steps whose wall times add up and whose peaks are maxed)
ROWS = [
    ("most-popular", "most-popular", ["baseline-most-popular"]),
    ("genre-most-popular", "genre-most-popular", ["baseline-genre-most-popular"]),
    ("item-knn", "item-knn", ["baseline-item-knn"]),
    ("playlist-knn", "playlist-knn", ["baseline-playlist-knn"]),
    ("ease", "ease", ["baseline-ease"]),
    ("autoencoder", "autoencoder", ["pca", "train", "predict"]),
    ("melon (full)", "melon", ["pca", "train", "rerank"]),
    ("melon without audio", "melon-noaudio", ["train-noaudio", "rerank-noaudio"]),
    ("melon without titles", "melon-notitles", ["pca", "train", "rerank-notitles"]),
    ("melon without reranker", "melon-fusion", ["pca", "train", "rerank-fusion"]),
    ("melon, 2 song rankers", "melon-split", ["pca", "train", "rerank-split"]),
    ("autoencoder without audio", "autoencoder-noaudio", ["train-noaudio", "predict-noaudio"]),
]
ABLATIONS = ["melon without audio", "melon without titles", "melon without reranker", "melon, 2 song rankers",
             "autoencoder"]
GENERATOR = {"a": "seed 11, 48 tastes, sparsity 1, tag noise 0.035 (generator defaults)",
             "b": "seed 23, 96 tastes, sparsity 2, tag noise 0.1"}


def read_settings(path):
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out


def read_scores(path):
    with open(path) as f:
        j = json.load(f)
    s = {"all": j["overall"]}
    s.update(j.get("by_type", {}))
    return s


def read_time(path):
    """(wall s, peak MB, resumed, binary id or None) from "wall_s peak_kb [bin=ID] [resumed]"."""
    try:
        with open(path) as f:
            parts = f.read().split()
        tags = parts[2:]
        bins = [t[4:] for t in tags if t.startswith("bin=")]
        return float(parts[0]), float(parts[1]) / 1024.0, "resumed" in tags, bins[0] if bins else None
    except (OSError, ValueError, IndexError):
        return None


def row_time(d, steps, binary_id):
    """Summed wall, max peak MB, any step resumed, any step made by another build
    than binary_id; None when a step's time is missing."""
    ts = [read_time(os.path.join(d, "times", s + ".txt")) for s in steps]
    if any(t is None for t in ts):
        return None
    other = binary_id is not None and any(t[3] != binary_id for t in ts)
    return sum(t[0] for t in ts), max(t[1] for t in ts), any(t[2] for t in ts), other


def get(scores, label, qtype, key="score"):
    s = scores.get(label, {}).get(qtype)
    return None if s is None else s.get(key)


def f4(x):
    return "-" if x is None else "%.4f" % x


def dataset_report(work, ds, binary_id):
    d = os.path.join(work, ds)
    st = read_settings(os.path.join(d, "settings.txt"))
    scores, times, missing = {}, {}, []
    for label, name, steps in ROWS:
        p = os.path.join(d, "scores", name + ".json")
        if not os.path.exists(p):
            missing.append(label)
            continue
        scores[label] = read_scores(p)
        times[label] = row_time(d, steps, binary_id)
    nq = get(scores, "melon (full)", "all", "questions") or next(
        (s["all"]["questions"] for s in scores.values()), 0)
    title = ("dataset %s: %s training playlists (%d questions after the official split), %s songs, "
             "%s epochs; %s" % (ds, st.get("playlists", "?"), nq, st.get("songs", "?"), st.get("epochs", "?"),
                                GENERATOR.get(ds, st.get("generate_extra", ""))))

    # rows of cells: method, type, song nDCG, tag nDCG, score, wall, peak
    table = []
    resumed = other = False
    for label, _, _ in ROWS:
        if label not in scores:
            continue
        for qt in TYPES:
            if get(scores, label, qt) is None:
                continue
            wall = peak = ""
            if qt == "all":
                t = times[label]
                if t is None:
                    wall = peak = "-"
                else:
                    wall = "%.1f%s%s" % (t[0], "*" if t[2] else "", "!" if t[3] else "")
                    peak = "%.0f" % t[1]
                    resumed = resumed or t[2]
                    other = other or t[3]
            table.append([label, qt, f4(get(scores, label, qt, "song_ndcg")), f4(get(scores, label, qt, "tag_ndcg")),
                          f4(get(scores, label, qt)), wall, peak])

    verdict = []
    refs = [r for r in REFERENCES if r in scores]

    def best_ref(qt):
        c = [(get(scores, r, qt), r) for r in refs if get(scores, r, qt) is not None]
        return max(c) if c else (None, None)

    if refs and "melon (full)" in scores:
        for qt in TYPES:
            b, br = best_ref(qt)
            m = get(scores, "melon (full)", qt)
            if b is None or m is None or b <= 0:
                continue
            target = 1.05 if qt == "all" else 0.98
            r = m / b
            verdict.append("melon / best reference, %-10s: %.4f / %.4f (%s) = %.3f (target >= %.2f): %s"
                           % (qt, m, b, br, r, target, "PASS" if r >= target else "FAIL"))
    else:
        verdict.append("melon / best reference: not available (needs melon (full) and one of %s)"
                       % ", ".join(REFERENCES))
    a, g = get(scores, "autoencoder", "all"), get(scores, "genre-most-popular", "all")
    if a is not None and g:
        verdict.append("autoencoder / genre-most-popular, all: %.4f / %.4f = %.2fx (target >= 3x): %s"
                       % (a, g, a / g, "PASS" if a / g >= 3 else "FAIL"))
    full = get(scores, "melon (full)", "all")
    for label in ABLATIONS:
        v = get(scores, label, "all")
        if v is None or not full or label == "autoencoder" and not any(l in scores for l in ABLATIONS[:3]):
            continue
        name = "autoencoder alone" if label == "autoencoder" else label
        verdict.append("ablation %s: score %.4f = %.3f x melon (full)" % (name, v, v / full))
    # Ablations run on dataset a only: list them as missing only when some of them ran.
    ablation_rows = [label for label, name, _ in ROWS if "without" in label]
    if not any(l in scores for l in ablation_rows):
        missing = [l for l in missing if l not in ablation_rows]
    if missing:
        verdict.append("not run (yet): " + ", ".join(missing))
    notes = []
    if resumed:
        notes.append("* the step resumed from a checkpoint: wall time of the last run only")
    if other:
        notes.append("! some step of this row ran with another melon build than the current one "
                     "(remove its WORK/%s/times/STEP.txt to redo it)" % ds)
    notes.append("wall s: melon (full) = pca + train + rerank, autoencoder = pca + train + predict, "
                 "a reference = its baseline run; peak MB/rank: GNU time's max RSS of mpirun "
                 "(largest rank), the largest of the steps")
    return title, table, verdict, notes


HEAD = ["method", "questions", "song nDCG", "tag nDCG", "score", "wall s", "peak MB/rank"]


def text_table(table):
    w = [max(len(HEAD[i]), *(len(r[i]) for r in table)) for i in range(len(HEAD))]
    fmt = lambda r: "  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i]) for i, c in enumerate(r)).rstrip()
    return "\n".join([fmt(HEAD)] + [fmt(r) for r in table])


def md_table(table):
    lines = ["| " + " | ".join(HEAD) + " |", "| --- | --- |" + " ---: |" * (len(HEAD) - 2)]
    for r in table:
        lines.append("| " + " | ".join(c if c else " " for c in r) + " |")
    return "\n".join(lines)


def compact_md(table):
    """One row per method: score (song / tag nDCG) overall, the score per type, time and memory."""
    order, rows = [], {}
    for method, qt, song, tag, score, wall, peak in table:
        if method not in rows:
            order.append(method)
            rows[method] = {}
        rows[method][qt] = (song, tag, score, wall, peak)
    lines = ["| method | all: score (song / tag nDCG) | " + " | ".join(TYPES[1:]) + " | wall s | peak MB/rank |",
             "| --- |" + " ---: |" * (len(TYPES) + 2)]
    for m in order:
        r = rows[m]
        a = r.get("all", ("", "", "", "", ""))
        cells = ["%s (%s / %s)" % (a[2], a[0], a[1])] + [r[t][2] if t in r else "" for t in TYPES[1:]]
        lines.append("| " + m + " | " + " | ".join(cells) + " | " + a[3] + " | " + a[4] + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", required=True)
    ap.add_argument("--datasets", default="a,b")
    ap.add_argument("--binary-id", default=None, help="id of the current melon build (flags rows made by another)")
    args = ap.parse_args()
    md = ["## Recommendation quality (tools/bench/bench_quality.sh)", ""]
    for ds in [x for x in args.datasets.split(",") if x]:
        if not os.path.exists(os.path.join(args.work, ds, "settings.txt")):
            print("bench_quality_table: no run for dataset %s under %s" % (ds, args.work), file=sys.stderr)
            continue
        title, table, verdict, notes = dataset_report(args.work, ds, args.binary_id)
        print("== " + title)
        print(text_table(table))
        print("-- verdict")
        print("\n".join(verdict))
        print("\n".join(notes))
        print()
        md += ["### " + title, "", compact_md(table), ""] + ["- " + v for v in verdict] + [""]
        md += ["Full table (song nDCG, tag nDCG and score per question type):", "", md_table(table), ""]
        md += [line for n in notes for line in (n, "")]
    tmp = os.path.join(args.work, "report.md.tmp")
    with open(tmp, "w") as f:
        f.write("\n".join(md))
    os.replace(tmp, os.path.join(args.work, "report.md"))


if __name__ == "__main__":
    main()
