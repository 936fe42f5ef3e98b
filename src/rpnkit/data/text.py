"""Text classification datasets read from their standard layouts, as TF-IDF or averaged word vectors.

* IMDB: ``<root>/aclImdb/{train,test}/{pos,neg}/*.txt`` (labels neg=0, pos=1).
* SST-2 (GLUE): ``<root>/SST-2/{train,dev}.tsv`` with a ``sentence<TAB>label`` header; dev is the test
  part (GLUE's test labels are hidden).
* AG News: ``<root>/ag_news_csv/{train,test}.csv`` rows ``"class","title","description"`` with classes 1..4
  (-> 0..3).

``features="tfidf"`` fits scikit-learn's ``TfidfVectorizer`` on the training texts only;
``features="embedding"`` averages the vectors of a GloVe-format text file (``word v1 v2 ...``) over
each text's tokens. Nothing downloads: get the archives from their publishers and unpack them under ``root``.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..validation import check_choice, check_fraction, check_int
from .base import Dataset, data_home, finish_split, train_test_indices

__all__ = ["read_imdb", "read_sst2", "read_ag_news", "load_text", "load_glove", "embed_texts", "TEXT_DATASETS"]

TEXT_DATASETS = ("imdb", "sst2", "ag_news")
AG_NEWS_CLASSES = ["World", "Sports", "Business", "Sci/Tech"]
_TOKEN = re.compile(r"[a-z0-9']+")


def _folder(root: Path, *candidates: str) -> Path:
    for c in candidates:
        if (root / c).is_dir():
            return root / c
    return root


def read_imdb(root: str | os.PathLike, split: str = "train") -> tuple[list[str], np.ndarray]:
    """Texts and labels (neg=0, pos=1) of ``aclImdb/<split>/{neg,pos}/*.txt``, files in name order."""
    base = _folder(Path(root), "aclImdb") / split
    texts, labels = [], []
    for label, sub in enumerate(("neg", "pos")):
        folder = base / sub
        if not folder.is_dir():
            raise ConfigError(f"imdb: folder {str(folder)!r} not found (expected aclImdb/{split}/{sub}/*.txt)", "root")
        for path in sorted(folder.glob("*.txt")):
            texts.append(path.read_text(encoding="utf-8", errors="replace").replace("<br />", " "))
            labels.append(label)
    return texts, np.asarray(labels, dtype=np.int64)


def _split_file(root: str | os.PathLike, folder: str, filename: str, name: str) -> Path:
    """``root``'s ``folder/filename`` (the folder found by :func:`_folder`), or a ConfigError naming it."""
    path = _folder(Path(root), folder) / filename
    if not path.is_file():
        raise ConfigError(f"{name}: {str(path)!r} not found (expected {folder}/{filename})", "root")
    return path


def read_sst2(root: str | os.PathLike, split: str = "train") -> tuple[list[str], np.ndarray]:
    """Sentences and labels of GLUE's ``SST-2/<split>.tsv`` (``sentence<TAB>label`` with a header)."""
    path = _split_file(root, "SST-2", f"{split}.tsv", "sst2")
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None or "sentence" not in header or "label" not in header:
            raise ConfigError(f"sst2: {path} needs a 'sentence<TAB>label' header, got {header!r}", "root")
        si, li = header.index("sentence"), header.index("label")
        for row in reader:
            if len(row) <= max(si, li):
                continue
            texts.append(row[si])
            labels.append(int(row[li]))
    return texts, np.asarray(labels, dtype=np.int64)


def read_ag_news(root: str | os.PathLike, split: str = "train") -> tuple[list[str], np.ndarray]:
    """Title + description and labels (class 1..4 -> 0..3) of ``ag_news_csv/<split>.csv``."""
    path = _split_file(root, "ag_news_csv", f"{split}.csv", "ag_news")
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 3:
                continue
            texts.append(f"{row[1]} {row[2]}".replace("\\", " "))
            labels.append(int(row[0]) - 1)
    return texts, np.asarray(labels, dtype=np.int64)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens."""
    return _TOKEN.findall(text.lower())


def load_glove(path: str | os.PathLike, vocabulary: set[str] | None = None) -> dict[str, np.ndarray]:
    """Word vectors from a GloVe-format text file (``word v1 v2 ...`` per line); only ``vocabulary`` if given."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"embedding file {str(path)!r} not found", "embedding_path")
    vectors: dict[str, np.ndarray] = {}
    width = None
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            parts = line.rstrip().split(" ")
            if len(parts) < 2:
                continue
            word = parts[0]
            if vocabulary is not None and word not in vocabulary:
                continue
            vec = np.asarray(parts[1:], dtype=np.float32)
            if width is None:
                width = len(vec)
            elif len(vec) != width:
                raise ConfigError(f"{path}: vector of {word!r} has {len(vec)} values, others have {width}")
            vectors[word] = vec
    if not vectors:
        raise ConfigError(f"{path}: no vectors read", "embedding_path")
    return vectors


def embed_texts(texts: Sequence[str], vectors: dict[str, np.ndarray]) -> np.ndarray:
    """The mean vector of each text's known tokens (zeros when none is known)."""
    width = len(next(iter(vectors.values())))
    out = np.zeros((len(texts), width), dtype=np.float32)
    for i, text in enumerate(texts):
        found = [vectors[t] for t in tokenize(text) if t in vectors]
        if found:
            out[i] = np.mean(found, axis=0)
    return out


_READERS = {"imdb": (read_imdb, "test"), "sst2": (read_sst2, "dev"), "ag_news": (read_ag_news, "test")}


def load_text(
    name: str = "imdb",
    *,
    root: str | os.PathLike | None = None,
    features: str = "tfidf",
    max_features: int | None = 5000,
    min_df: int = 5,
    max_df: float = 0.5,
    sublinear_tf: bool = True,
    stop_words: str | None = "english",
    embedding_path: str | os.PathLike | None = None,
    val_fraction: float = 0.0,
    max_train: int | None = None,
    max_test: int | None = None,
    normalize: str | None = None,
    seed: int = 0,
) -> Dataset:
    """IMDB, SST-2 or AG News as dense TF-IDF rows (vectoriser fitted on the training texts) or mean GloVe vectors.

    Args:
        name: ``imdb``, ``sst2`` or ``ag_news``.
        root: the folder holding ``aclImdb/``, ``SST-2/`` or ``ag_news_csv/``.
        features: ``"tfidf"`` or ``"embedding"`` (then ``embedding_path`` names a GloVe text file).
        max_features, min_df, max_df, sublinear_tf, stop_words: ``TfidfVectorizer`` options; the
            rows are dense, so keep ``max_features`` moderate (N x max_features float32).
        val_fraction: share of the training texts held out for validation (the vectoriser never sees them).
        max_train, max_test: keep a seeded random subset of this many texts.
    """
    check_choice(name, None, list(TEXT_DATASETS), path="name")
    check_choice(features, None, ["tfidf", "embedding"], path="features")
    check_int(max_train, None, 1, allow_none=True, path="max_train")
    check_int(max_test, None, 1, allow_none=True, path="max_test")
    folder = data_home(root, name)
    reader, test_split = _READERS[name]
    train_texts, y_train = reader(folder, "train")
    test_texts, y_test = reader(folder, test_split)
    rng = np.random.default_rng(seed)
    if max_train is not None and max_train < len(train_texts):
        keep = np.sort(rng.permutation(len(train_texts))[:max_train])
        train_texts, y_train = [train_texts[i] for i in keep], y_train[keep]
    if max_test is not None and max_test < len(test_texts):
        keep = np.sort(rng.permutation(len(test_texts))[:max_test])
        test_texts, y_test = [test_texts[i] for i in keep], y_test[keep]
    # Hold the validation texts out before fitting the vectoriser.
    index = np.arange(len(train_texts))
    train_part = val_part = index
    if check_fraction(val_fraction, None, path="val_fraction"):
        train_part, val_part = train_test_indices(len(index), val_fraction, seed + 1, y_train)
    fit_texts = [train_texts[i] for i in train_part]
    info: dict = {"features": features}
    if features == "tfidf":
        try:
            from sklearn.feature_extraction.text import TfidfVectorizer
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ConfigError("TF-IDF features need scikit-learn: pip install 'rpnkit[data]'", "features") from err
        check_int(max_features, None, 1, allow_none=True, path="max_features")
        vectorizer = TfidfVectorizer(
            max_features=max_features, min_df=min_df, max_df=max_df, sublinear_tf=sublinear_tf, stop_words=stop_words
        )
        try:
            vectorizer.fit(fit_texts)
        except ValueError as err:
            raise ConfigError(
                f"{name}: TF-IDF could not be fitted ({err}); lower min_df or raise max_df", "min_df"
            ) from None

        def encode(texts: list[str]) -> np.ndarray:
            return vectorizer.transform(texts).astype(np.float32).toarray()

        info["vocabulary_size"] = len(vectorizer.vocabulary_)
    else:
        if embedding_path is None:
            raise ConfigError("features 'embedding' needs embedding_path (a GloVe-format text file)", "embedding_path")
        vocab = {t for text in train_texts + test_texts for t in tokenize(text)}
        vectors = load_glove(embedding_path, vocab)

        def encode(texts: list[str]) -> np.ndarray:
            return embed_texts(texts, vectors)

        info["embedding_dim"] = len(next(iter(vectors.values())))
    x_all = encode(train_texts)
    x_test = encode(test_texts)
    num_classes = 4 if name == "ag_news" else 2
    classes = AG_NEWS_CLASSES if name == "ag_news" else ["negative", "positive"]
    data = finish_split(
        name,
        x_all[train_part],
        y_train[train_part],
        "classification",
        test=(x_test, y_test),
        normalize=normalize,
        seed=seed,
        num_classes=num_classes,
        class_names=classes,
        info=info,
    )
    if val_fraction:
        x_val = x_all[val_part]
        if data.x_scaler is not None:
            x_val = data.x_scaler.transform(x_val)
        data.x_val = torch.from_numpy(np.ascontiguousarray(x_val, dtype=np.float32))
        data.y_val = torch.from_numpy(y_train[val_part])
    return data
