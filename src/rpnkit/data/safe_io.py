"""Safe reading of pickled data files and checked downloads.

Some official dataset formats are pickles (the CIFAR-10 python batches, the Planetoid graph files).
:func:`safe_pickle_load` reads them with an unpickler that resolves only an allow-list of globals:
plain containers, numpy arrays and dtypes, and scipy sparse matrices (rebuilt as a
:class:`SparseMatrix` record, never as scipy objects). Any other global raises
:class:`UnsafePickleError`, so a tampered file cannot run code.

:func:`download` fetches a URL into a cache folder through a temporary file and renames it only
after its MD5/SHA-256 checksum matches. Nothing in rpnkit downloads unless asked (``download=True``).
"""

from __future__ import annotations

import builtins
import codecs
import collections
import copyreg
import hashlib
import io
import os
import pickle
import shutil
import tarfile
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import RPNError

__all__ = [
    "UnsafePickleError",
    "ChecksumError",
    "SparseMatrix",
    "safe_pickle_load",
    "file_checksum",
    "download",
    "extract_archive",
]


class UnsafePickleError(RPNError, pickle.UnpicklingError):
    """A pickle names a global outside the allow-list."""


class ChecksumError(RPNError, OSError):
    """A downloaded or cached file does not match its published checksum."""


class SparseMatrix:
    """The state of a pickled scipy sparse matrix (csr, csc or coo), kept as plain numpy arrays.

    ``toarray()`` gives the dense matrix.
    """

    format = "csr"

    def __setstate__(self, state: dict) -> None:
        self.state = {(k.decode() if isinstance(k, bytes) else k): v for k, v in dict(state).items()}

    @property
    def shape(self) -> tuple[int, int]:
        shape = self.state.get("_shape", self.state.get("shape"))
        return int(shape[0]), int(shape[1])

    def toarray(self) -> np.ndarray:
        rows, cols = self.shape
        data = np.asarray(self.state["data"])
        out = np.zeros((rows, cols), dtype=data.dtype if data.size else np.float64)
        if self.format == "coo":
            row = np.asarray(self.state.get("row", self.state.get("coords", [None])[0]))
            col = np.asarray(self.state.get("col", self.state.get("coords", [None, None])[1]))
            np.add.at(out, (row, col), data)
            return out
        indptr = np.asarray(self.state["indptr"], dtype=np.int64)
        indices = np.asarray(self.state["indices"], dtype=np.int64)
        major = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        if self.format == "csr":
            np.add.at(out, (major, indices), data)
        else:
            np.add.at(out, (indices, major), data)
        return out


class _CSC(SparseMatrix):
    format = "csc"


class _COO(SparseMatrix):
    format = "coo"


_SPARSE = {
    "csr_matrix": SparseMatrix,
    "csc_matrix": _CSC,
    "coo_matrix": _COO,
    "csr_array": SparseMatrix,
    "csc_array": _CSC,
    "coo_array": _COO,
}


def _numpy_global(module: str, name: str) -> Any:
    allowed = {
        ("multiarray", "_reconstruct"),
        ("multiarray", "scalar"),
        ("numeric", "_frombuffer"),
    }
    if module == "numpy" and name in ("ndarray", "dtype"):
        return getattr(np, name)
    for prefix in ("numpy.core.", "numpy._core."):
        if module.startswith(prefix):
            sub = module[len(prefix) :]
            if (sub, name) in allowed:
                core = getattr(np, "_core", None) or np.core
                return getattr(getattr(core, sub), name)
    if module == "numpy.dtypes" and name.endswith("DType"):
        return getattr(getattr(np, "dtypes", None), name, None)
    return None


class _RestrictedUnpickler(pickle.Unpickler):
    _BUILTINS = {
        "dict",
        "list",
        "tuple",
        "set",
        "frozenset",
        "bytes",
        "bytearray",
        "int",
        "float",
        "complex",
        "str",
        "bool",
        "object",
    }

    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "__builtin__") and name in self._BUILTINS:
            return getattr(builtins, name)
        if (module, name) in (("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor")):
            return copyreg._reconstructor
        if (module, name) == ("_codecs", "encode"):
            return codecs.encode
        if module == "collections" and name in ("defaultdict", "OrderedDict"):
            return getattr(collections, name)
        if module.startswith("numpy"):
            found = _numpy_global(module, name)
            if found is not None:
                return found
        if module.startswith("scipy.sparse") and name in _SPARSE:
            return _SPARSE[name]
        raise UnsafePickleError(f"refusing to unpickle global {module}.{name} (not on rpnkit's allow-list)")


def safe_pickle_load(source: str | os.PathLike | IO[bytes] | bytes, encoding: str = "latin1") -> Any:
    """Unpickle data files with an allow-list of globals (containers, numpy arrays, sparse matrices).

    Args:
        source: a path, an open binary file or the bytes.
        encoding: how Python 2 ``str`` objects are decoded: ``"latin1"`` (Planetoid files, numpy
            arrays) or ``"bytes"`` (CIFAR batches, whose dict keys become ``bytes``).

    Raises:
        UnsafePickleError: the pickle names any other global (e.g. ``os.system``).

    Example:
        >>> import pickle, numpy as np
        >>> safe_pickle_load(pickle.dumps({"x": np.arange(3)}))["x"].tolist()
        [0, 1, 2]
        >>> safe_pickle_load(pickle.dumps(print))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        rpnkit.data.safe_io.UnsafePickleError: refusing to unpickle global builtins.print ...
    """
    if isinstance(source, (bytes, bytearray)):
        return _RestrictedUnpickler(io.BytesIO(source), encoding=encoding).load()
    if hasattr(source, "read"):
        return _RestrictedUnpickler(source, encoding=encoding).load()
    with open(source, "rb") as handle:
        return _RestrictedUnpickler(handle, encoding=encoding).load()


def file_checksum(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"md5"`` or ``"sha256"``)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch_url(url: str, handle: IO[bytes]) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "rpnkit"})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http(s)/file URLs by design
        shutil.copyfileobj(response, handle, 1 << 20)


def download(
    url: str,
    folder: str | os.PathLike,
    filename: str | None = None,
    md5: str | None = None,
    sha256: str | None = None,
    fetch: Callable[[str, IO[bytes]], None] | None = None,
    quiet: bool = False,
) -> Path:
    """Download ``url`` into ``folder`` unless a file with a matching checksum is already there.

    The file is written to a temporary name, checked, then renamed, so an interrupted or corrupt
    download never leaves a file that looks complete.

    Args:
        url: http(s) or file URL.
        folder: the cache folder (created).
        filename: the file name (default: the URL's last part).
        md5, sha256: the published checksum(s) to verify.
        fetch: ``fetch(url, binary_handle)`` that writes the bytes (tests pass a fake one).

    Raises:
        ChecksumError: the bytes do not match.
    """
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (filename or url.rstrip("/").rsplit("/", 1)[-1])

    def matches(path: Path) -> bool:
        if md5 is not None and file_checksum(path, "md5") != md5.lower():
            return False
        return sha256 is None or file_checksum(path, "sha256") == sha256.lower()

    if target.is_file() and matches(target):
        return target
    if not quiet:
        print(f"downloading {url} -> {target}")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            (fetch or _fetch_url)(url, handle)
        if not matches(Path(tmp)):
            got = file_checksum(tmp, "md5" if md5 else "sha256")
            raise ChecksumError(
                f"{url}: checksum mismatch (expected {'md5 ' + md5 if md5 else 'sha256 ' + str(sha256)}, got {got}); "
                "the download is corrupt or the file changed upstream"
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def extract_archive(archive: str | os.PathLike, folder: str | os.PathLike) -> Path:
    """Extract a .tar(.gz) or .zip archive into ``folder``, refusing members that escape it or are links."""
    archive, folder = Path(archive), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()

    def check(name: str) -> None:
        dest = (root / name).resolve()
        if dest != root and root not in dest.parents:
            raise RPNError(f"{archive.name}: member {name!r} would be written outside {folder}")

    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                check(member)
            zf.extractall(folder)
        return folder
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        for member in members:
            check(member.name)
            if not (member.isfile() or member.isdir()):
                raise RPNError(f"{archive.name}: member {member.name!r} is a link or device; refusing to extract")
        if hasattr(tarfile, "data_filter"):
            tf.extractall(folder, members=members, filter="data")
        else:  # pragma: no cover - Python < 3.12 without extraction filters; members were checked above
            tf.extractall(folder, members=members)
    return folder
