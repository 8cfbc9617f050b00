#!/usr/bin/env python3
"""How a results.json does on songs never seen in training.

  tools/bench/cold_songs.py TRAIN.json QUESTIONS.json ANSWERS.json RESULTS.json [RESULTS.json ...]

A song is "never seen" when no training playlist and no question shows it
(the model had no row for it: only its audio can bring it in). Prints, per
results file: how many answer songs were never seen, how many of them the
top-100 lists found, and how many never-seen songs were recommended at all.
"""
import collections
import json
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    train, questions, answers = sys.argv[1:4]
    seen = collections.Counter()
    for f in (train, questions):
        for p in json.load(open(f, encoding="utf-8")):
            seen.update(p["songs"])
    ans = {p["id"]: p for p in json.load(open(answers, encoding="utf-8"))}
    for rf in sys.argv[4:]:
        hit = total = recommended = 0
        for r in json.load(open(rf, encoding="utf-8")):
            cold = {s for s in ans[r["id"]]["songs"] if seen[s] == 0}
            total += len(cold)
            hit += len(cold & set(r["songs"]))
            recommended += sum(1 for s in r["songs"] if seen[s] == 0)
        print(f"{rf}: answer songs never seen in training: {total}; found in the top 100: {hit} "
              f"({100 * hit / max(total, 1):.2f}%); never-seen songs recommended: {recommended}")


if __name__ == "__main__":
    main()
