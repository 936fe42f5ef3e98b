"""Graph datasets for transductive node classification: Planetoid citation graphs and a seeded
stochastic block model.

* Planetoid format (Cora, Citeseer, Pubmed as published with GCN): ``ind.<name>.{x,tx,allx,y,ty,ally,graph}``
  (pickles, read with the restricted unpickler) and ``ind.<name>.test.index``; the standard split
  (train = the labelled ``x`` rows, the next 500 nodes for validation, the listed test nodes).
* The LINQS ``<name>.content`` / ``<name>.cites`` format (``id feature... label`` and ``cited citing``):
  labels numbered in sorted order; a seeded split with ``train_per_class`` training nodes per class,
  then ``num_val`` validation and ``num_test`` test nodes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..validation import check_choice, check_int, check_real
from .base import GraphDataset, data_home, encode_labels
from .safe_io import SparseMatrix, safe_pickle_load

__all__ = ["load_planetoid", "read_planetoid", "read_content_cites", "load_sbm", "PLANETOID"]

PLANETOID = ("cora", "citeseer", "pubmed")


def _dense(obj) -> np.ndarray:
    if isinstance(obj, SparseMatrix):
        return obj.toarray()
    if hasattr(obj, "toarray"):  # pragma: no cover - only for callers that pass scipy objects
        return np.asarray(obj.toarray())
    return np.asarray(obj)


def _edges(pairs: np.ndarray, n: int) -> torch.Tensor:
    """Undirected, deduplicated edge_index without self loops, sorted."""
    if len(pairs) == 0:
        return torch.zeros(2, 0, dtype=torch.long)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    pairs = pairs[(pairs[:, 0] != pairs[:, 1]) & (pairs >= 0).all(1) & (pairs < n).all(1)]
    both = np.concatenate([pairs, pairs[:, ::-1]])
    both = np.unique(both, axis=0)
    return torch.from_numpy(np.ascontiguousarray(both.T))


def _row_normalize(x: np.ndarray) -> np.ndarray:
    sums = x.sum(1, keepdims=True)
    return x / np.where(sums == 0, 1.0, sums)


def read_planetoid(folder: str | os.PathLike, name: str) -> dict:
    """The arrays of the Planetoid files of ``name`` in ``folder``: x, y (ids), edges, train/val/test index."""
    folder = Path(folder)
    parts = {}
    for key in ("x", "y", "tx", "ty", "allx", "ally", "graph"):
        path = folder / f"ind.{name}.{key}"
        if not path.is_file():
            raise ConfigError(f"{name}: {str(path)!r} not found (Planetoid files ind.{name}.*)", "root")
        parts[key] = safe_pickle_load(path, encoding="latin1")
    index_path = folder / f"ind.{name}.test.index"
    if not index_path.is_file():
        raise ConfigError(f"{name}: {str(index_path)!r} not found", "root")
    test_index = np.asarray([int(line) for line in index_path.read_text().split()], dtype=np.int64)
    tx, allx = _dense(parts["tx"]), _dense(parts["allx"])
    y, ty, ally = _dense(parts["y"]), _dense(parts["ty"]), _dense(parts["ally"])
    test_range = np.sort(test_index)
    if name == "citeseer" or len(tx) < test_range.max() - test_range.min() + 1:
        # Citeseer has isolated test nodes missing from tx/ty: pad them with zero rows.
        full = np.arange(test_range.min(), test_range.max() + 1)
        tx_ext = np.zeros((len(full), tx.shape[1]), dtype=tx.dtype)
        tx_ext[test_range - test_range.min()] = tx
        ty_ext = np.zeros((len(full), ty.shape[1]), dtype=ty.dtype)
        ty_ext[test_range - test_range.min()] = ty
        tx, ty = tx_ext, ty_ext
    features = np.concatenate([allx, tx])
    labels = np.concatenate([ally, ty])
    features[test_index] = features[test_range]
    labels[test_index] = labels[test_range]
    graph = parts["graph"]
    pairs = [(int(src), int(dst)) for src, targets in dict(graph).items() for dst in targets]
    n = len(features)
    return {
        "x": features.astype(np.float32),
        "y": labels.argmax(1).astype(np.int64),
        "edges": np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        "train": np.arange(len(y)),
        "val": np.arange(len(y), min(len(y) + 500, n)),
        "test": test_range,
        "num_classes": int(labels.shape[1]),
    }


def read_content_cites(folder: str | os.PathLike, name: str) -> dict:
    """``<name>.content`` (``id f1 ... fF label`` per line) and ``<name>.cites`` (``cited citing``)."""
    folder = Path(folder)
    content, cites = folder / f"{name}.content", folder / f"{name}.cites"
    if not content.is_file() or not cites.is_file():
        raise ConfigError(f"{name}: {name}.content / {name}.cites not found in {str(folder)!r}", "root")
    ids, feats, raw = [], [], []
    for line in content.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if not parts:
            continue
        ids.append(parts[0])
        feats.append([float(v) for v in parts[1:-1]])
        raw.append(parts[-1])
    y, classes = encode_labels(raw)
    position = {node: i for i, node in enumerate(ids)}
    pairs = []
    for line in cites.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in position and parts[1] in position:
            pairs.append((position[parts[1]], position[parts[0]]))
    return {
        "x": np.asarray(feats, dtype=np.float32),
        "y": y,
        "edges": np.asarray(pairs, dtype=np.int64).reshape(-1, 2),
        "class_names": classes,
        "num_classes": len(classes),
    }


def _per_class_split(
    y: np.ndarray, num_classes: int, train_per_class: int, num_val: int, num_test: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train = []
    for c in range(num_classes):
        members = np.flatnonzero(y == c)
        train.append(members[rng.permutation(len(members))[:train_per_class]])
    train_idx = np.sort(np.concatenate(train))
    rest = np.setdiff1d(np.arange(len(y)), train_idx)
    rest = rest[rng.permutation(len(rest))]
    val_idx = np.sort(rest[:num_val])
    test_idx = np.sort(rest[num_val : num_val + num_test])
    return train_idx, val_idx, test_idx


def _masks(n: int, *parts: np.ndarray) -> list[torch.Tensor]:
    out = []
    for idx in parts:
        mask = torch.zeros(n, dtype=torch.bool)
        mask[torch.as_tensor(idx, dtype=torch.long)] = True
        out.append(mask)
    return out


def load_planetoid(
    name: str = "cora",
    *,
    root: str | os.PathLike | None = None,
    normalize: str | None = "row",
    split: str = "standard",
    train_per_class: int = 20,
    num_val: int = 500,
    num_test: int = 1000,
    seed: int = 0,
) -> GraphDataset:
    """Cora, Citeseer or Pubmed from Planetoid files (or Cora-style ``.content``/``.cites``) under ``root``.

    Args:
        name: ``cora``, ``citeseer`` or ``pubmed``.
        root: folder holding ``ind.<name>.*`` (also looked for in ``<root>/raw``) or ``<name>.content``.
        normalize: ``"row"`` (features sum to 1 per node) or None.
        split: ``"standard"`` (the Planetoid split; for the content format the same sizes, seeded) or
            ``"random"`` (``train_per_class`` per class, then ``num_val`` and ``num_test`` nodes, seeded).
    """
    check_choice(name, None, list(PLANETOID), path="name")
    check_choice(normalize, None, [None, "row"], path="normalize")
    check_choice(split, None, ["standard", "random"], path="split")
    check_int(train_per_class, None, 1, path="train_per_class")
    check_int(num_val, None, 0, path="num_val")
    check_int(num_test, None, 1, path="num_test")
    top = data_home(root, name)
    folder = next((f for f in (top, top / "raw", top / name) if (f / f"ind.{name}.x").is_file()), None)
    if folder is not None:
        parts = read_planetoid(folder, name)
        class_names = None
    else:
        folder = next((f for f in (top, top / "raw", top / name) if (f / f"{name}.content").is_file()), top)
        parts = read_content_cites(folder, name)
        class_names = parts["class_names"]
    x, y, k = parts["x"], parts["y"], parts["num_classes"]
    n = len(x)
    if split == "standard" and "train" in parts:
        train, val, test = parts["train"], parts["val"], parts["test"]
    else:
        train, val, test = _per_class_split(y, k, train_per_class, num_val, num_test, seed)
    if normalize == "row":
        x = _row_normalize(x)
    train_mask, val_mask, test_mask = _masks(n, train, val, test)
    return GraphDataset(
        name=name,
        x=torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        y=torch.from_numpy(y),
        edge_index=_edges(parts["edges"], n),
        train_mask=train_mask,
        val_mask=val_mask,
        test_mask=test_mask,
        num_classes=k,
        class_names=class_names,
        info={"root": str(folder)},
    )


def load_sbm(
    *,
    num_nodes: int = 300,
    num_classes: int = 3,
    num_features: int = 16,
    p_in: float = 0.1,
    p_out: float = 0.01,
    feature_noise: float = 1.0,
    train_per_class: int = 20,
    num_val: int = 60,
    num_test: int = 150,
    seed: int = 0,
) -> GraphDataset:
    """A stochastic block model: ``num_classes`` blocks, edges with probability ``p_in`` inside a block and
    ``p_out`` across; features are the block's random centre plus Gaussian noise of std ``feature_noise``.

    Example:
        >>> g = load_sbm(num_nodes=60, num_classes=2, num_val=10, num_test=20, train_per_class=5)
        >>> g.x.shape, int(g.train_mask.sum()), bool((g.train_mask & g.test_mask).any())
        (torch.Size([60, 16]), 10, False)
    """
    check_int(num_nodes, None, 2, path="num_nodes")
    check_int(num_classes, None, 1, path="num_classes")
    check_int(num_features, None, 1, path="num_features")
    for key, value in (("p_in", p_in), ("p_out", p_out)):
        check_real(value, key, ge=0, le=1, path=key)
    if num_classes * train_per_class + num_val + num_test > num_nodes:
        raise ConfigError(
            f"{num_classes} x {train_per_class} training + {num_val} validation + {num_test} test nodes exceed "
            f"num_nodes={num_nodes}",
            "num_nodes",
        )
    rng = np.random.default_rng(seed)
    y = np.sort(np.arange(num_nodes) % num_classes)
    same = y[:, None] == y[None, :]
    prob = np.where(same, p_in, p_out)
    upper = np.triu(rng.random((num_nodes, num_nodes)) < prob, k=1)
    pairs = np.argwhere(upper)
    centres = rng.normal(0.0, 1.0, (num_classes, num_features))
    x = centres[y] + rng.normal(0.0, feature_noise, (num_nodes, num_features))
    train, val, test = _per_class_split(y, num_classes, train_per_class, num_val, num_test, seed + 1)
    train_mask, val_mask, test_mask = _masks(num_nodes, train, val, test)
    return GraphDataset(
        name="sbm",
        x=torch.from_numpy(x.astype(np.float32)),
        y=torch.from_numpy(y.astype(np.int64)),
        edge_index=_edges(pairs, num_nodes),
        train_mask=train_mask,
        val_mask=val_mask,
        test_mask=test_mask,
        num_classes=num_classes,
        info={"p_in": p_in, "p_out": p_out},
    )
