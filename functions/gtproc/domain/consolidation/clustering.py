"""Grouping the shapes that different workers drew for the same thing (boxes, text spans).

Greedy average-linkage agglomeration, no assignment solver:
1. candidate pairs = shapes of *different* workers with similarity >= threshold;
2. take pairs in order of decreasing similarity (ties: lower shape index first, i.e. answer order);
3. merge the two clusters if they share no worker and the mean similarity over all cross pairs is
   still >= threshold (average linkage: one sloppy shape does not split a cluster, and chains of
   neighbours A~B~C with A and C apart do not merge).
A cluster therefore holds at most one shape per worker.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def _pairs(m: int) -> tuple[np.ndarray, np.ndarray]:
    """(i, j) of every pair i < j. np.triu_indices costs ~0.5 ms a call, more than clustering a few
    shapes: the usual sizes are kept (at most 64 x 64 shapes: under 1 MB in all)."""
    return _few_pairs(m) if m <= 64 else np.triu_indices(m, k=1)


@lru_cache(maxsize=64)
def _few_pairs(m: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(m, k=1)
    i.flags.writeable = j.flags.writeable = False  # shared by every call: never written
    return i, j


def cluster(similarity: np.ndarray, owner: np.ndarray, threshold: float) -> list[list[int]]:
    """Clusters of shape indices, each sorted, listed by their first member."""
    m = similarity.shape[0]
    if m == 0:
        return []
    i, j = _pairs(m)
    sim = similarity[i, j]
    keep = (sim >= threshold) & (owner[i] != owner[j])
    i, j, sim = i[keep], j[keep], sim[keep]
    order = np.lexsort((j, i, -sim))
    # Shapes per image are few: plain Python beats numpy's per-call overhead from here on.
    table = similarity.tolist()
    owners_of = owner.tolist()
    label = list(range(m))
    members: dict[int, list[int]] = {s: [s] for s in range(m)}
    owners: dict[int, set[int]] = {s: {owners_of[s]} for s in range(m)}
    for a, b in zip(i[order].tolist(), j[order].tolist(), strict=True):
        ca, cb = label[a], label[b]
        if ca == cb or owners[ca] & owners[cb]:
            continue
        left, right = members[ca], members[cb]
        if sum(table[x][y] for x in left for y in right) < threshold * len(left) * len(right):
            continue
        keep_id, drop_id = min(ca, cb), max(ca, cb)
        for s in members[drop_id]:
            label[s] = keep_id
        members[keep_id].extend(members.pop(drop_id))
        owners[keep_id] |= owners.pop(drop_id)
    return [sorted(members[c]) for c in sorted(members)]
