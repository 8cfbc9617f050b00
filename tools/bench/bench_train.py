#!/usr/bin/env python3
"""PyTorch reference for `melon train`: the same autoencoder on the same data.

Builds the same vocabularies as melon (songs/tags seen >= min-count times,
title tokens = words + character 2..3-grams seen in >= min-count titles),
the same input (per-group L2-normalised multi-hot, EmbeddingBag gather-sum),
the same corruption (a random half of the songs/tags shown, by question
type), hidden tanh layer, softmax outputs over songs and tags with the
multinomial loss (target mass split over the playlist's items), and Adam.
Prints one line: "torch: N playlists/s (S s/step, ...)".
Run with Debian's /usr/bin/python3 (python3-torch)."""
import argparse
import json
import math
import random
import sys
import time

import torch


def is_word_char(c):
    o = ord(c)
    if o >= 0x80:
        return not (o in (0xA0, 0x3000, 0xFEFF) or 0x2000 <= o <= 0x200F)
    return c.isascii() and c.isalnum()


def tokenize(title, nmin=2, nmax=3):
    out, word = set(), []

    def flush():
        if word:
            w = "".join(word)
            out.add("w:" + w)
            for n in range(max(nmin, 1), nmax + 1):
                if n >= len(w):
                    break
                for s in range(len(w) - n + 1):
                    out.add("g:" + w[s:s + n])
            word.clear()

    for c in title:
        if is_word_char(c):
            word.append(c.lower() if c.isascii() else c)
        else:
            flush()
    flush()
    return sorted(out)


def vocab(counts, min_count):
    items = sorted((k for k, n in counts.items() if n >= min_count), key=lambda k: (-counts[k], k))
    return {k: i for i, k in enumerate(items)}


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def blas_library():
    """The BLAS this process really loaded (Debian's torch calls libblas.so.3)."""
    with open("/proc/self/maps") as m:
        libs = {line.split()[-1] for line in m if "blas" in line.lower() and "/" in line}
    return ", ".join(sorted(libs)) or "none mapped"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--questions", nargs="*", default=[])
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--min-song-count", type=int, default=2)
    ap.add_argument("--min-tag-count", type=int, default=2)
    ap.add_argument("--min-token-count", type=int, default=2)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--adam-foreach", choices=["on", "off"], default="off",
                    help="torch.optim.Adam(foreach=...): the multi-tensor update (bench_train.sh tries both)")
    ap.add_argument("--probe-gemm", type=int, default=0,
                    help="only print this torch build's float GEMM rate (N x N x N, best of 3) and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.probe_gemm:
        n = a.probe_gemm
        x, y = torch.randn(n, n), torch.randn(n, n)
        best = min(timed(lambda: torch.mm(x, y)) for _ in range(3))
        print(f"{2.0 * n ** 3 / best / 1e9:.1f}")
        return
    torch.manual_seed(1)
    rnd = random.Random(1)

    playlists = json.load(open(a.train, encoding="utf-8"))
    for q in a.questions:
        playlists += json.load(open(q, encoding="utf-8"))
    sc, tc, wc = {}, {}, {}
    toks = []
    for p in playlists:
        for s in p["songs"]:
            sc[s] = sc.get(s, 0) + 1
        for t in p["tags"]:
            tc[t] = tc.get(t, 0) + 1
        tk = tokenize(p["plylst_title"])
        toks.append(tk)
        for w in tk:
            wc[w] = wc.get(w, 0) + 1
    sv, tv, wv = vocab(sc, a.min_song_count), vocab(tc, a.min_tag_count), vocab(wc, a.min_token_count)
    ns, nt, nw = len(sv), len(tv), len(wv)
    n_in = ns + nt + nw
    print(f"torch: vocabulary {ns} songs, {nt} tags, {nw} title tokens ({n_in} input items), "
          f"{len(playlists)} playlists, {a.threads} threads", file=sys.stderr)
    enc = []
    for p, tk in zip(playlists, toks):
        enc.append(([sv.get(s, -1) for s in p["songs"]], [tv.get(t, -1) for t in p["tags"]],
                    [wv[w] for w in tk if w in wv]))

    emb = torch.nn.EmbeddingBag(n_in, a.hidden, mode="sum")
    b0 = torch.nn.Parameter(torch.zeros(a.hidden))
    song_out = torch.nn.Linear(a.hidden, ns)
    tag_out = torch.nn.Linear(a.hidden, nt)
    params = list(emb.parameters()) + [b0] + list(song_out.parameters()) + list(tag_out.parameters())
    opt = torch.optim.Adam(params, lr=a.lr, foreach=a.adam_foreach == "on")

    def example(e):
        songs, tags, tokens = e
        u = rnd.random()
        show_s, show_t = u < 0.8, 0.3 <= u < 0.95
        shown_s = rnd.sample(range(len(songs)), len(songs) // 2) if show_s else []
        shown_t = rnd.sample(range(len(tags)), len(tags) // 2) if show_t else []
        title = not shown_s or rnd.random() < 0.5
        idx, w = [], []
        for group, off in (([songs[k] for k in shown_s if songs[k] >= 0], 0),
                           ([tags[k] for k in shown_t if tags[k] >= 0], ns),
                           (tokens if title else [], ns + nt)):
            if group:
                g = 1.0 / math.sqrt(len(group))
                idx += [off + i for i in group]
                w += [g] * len(group)
        return idx, w, [s for s in songs if s >= 0], [t for t in tags if t >= 0]

    order = list(range(len(enc)))
    rnd.shuffle(order)
    done, t_steps, n_timed = 0, 0.0, 0
    for step in range(a.warmup + a.steps):
        batch = [example(enc[order[(step * a.batch + k) % len(order)]]) for k in range(a.batch)]
        t0 = time.perf_counter()
        idx = torch.tensor([i for b in batch for i in b[0]], dtype=torch.long)
        w = torch.tensor([x for b in batch for x in b[1]], dtype=torch.float32)
        offsets = torch.tensor([0] + [len(b[0]) for b in batch[:-1]], dtype=torch.long).cumsum(0)
        ts = torch.zeros(a.batch, ns)
        tt = torch.zeros(a.batch, nt)
        for i, b in enumerate(batch):
            if b[2]:
                ts[i, b[2]] = 1.0 / len(b[2])
            if b[3]:
                tt[i, b[3]] = 1.0 / len(b[3])
        h = torch.tanh(emb(idx, offsets, per_sample_weights=w) + b0)
        loss = -(torch.log_softmax(song_out(h), 1) * ts).sum() / a.batch \
               - (torch.log_softmax(tag_out(h), 1) * tt).sum() / a.batch
        opt.zero_grad(set_to_none=True)  # no pass zeroing 65 M gradients (the default from PyTorch 2.0)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if step >= a.warmup:
            t_steps += dt
            n_timed += 1
            done += a.batch
    # The output layers' products (forward, and the two of the backward pass)
    # dominate a step: their rate says whether the BLAS ran at full speed.
    flops = 6.0 * a.batch * a.hidden * (ns + nt)
    print(f"torch: {done / t_steps:.1f} playlists/s ({t_steps / n_timed:.3f} s/step over {n_timed} steps, "
          f"batch {a.batch}, hidden {a.hidden}, loss {loss.item():.3f}; output-layer products "
          f"{flops * n_timed / t_steps / 1e9:.1f} GFLOP/s of step time; Adam foreach {a.adam_foreach}; "
          f"BLAS {blas_library()})")


if __name__ == "__main__":
    main()
