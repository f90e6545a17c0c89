"""Data sets: the digits split, the validation set carved from a training file,
and the MNIST-style loaders on small files made here (IDX, gzipped IDX, NPZ)
and their errors."""
import gzip
import os
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import asynclab
from asynclab import datasets
from asynclab.cli import main


def test_the_digits_split_is_deterministic_stratified_and_scaled():
    a, b = datasets.load("digits", seed=0), datasets.load("digits", seed=0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    other = datasets.load("digits", seed=1)
    assert not np.array_equal(a.y_test, other.y_test)
    assert not np.array_equal(a.y_validation, other.y_validation)
    assert (len(a.y_train), len(a.y_validation), len(a.y_test)) == (1079, 359, 359)
    assert a.X_train.shape[1] == a.X_validation.shape[1] == a.X_test.shape[1] == 64
    assert 0 <= a.X_train.min() and a.X_train.max() == 1.0       # intensities 0..16 -> [0, 1]
    # Stratified 60/20/20: every digit is a fifth of its examples in the validation
    # set and a fifth in the test set, give or take one.
    counts = [np.bincount(y, minlength=10) for y in (a.y_train, a.y_validation, a.y_test)]
    totals = sum(counts)
    for part in counts[1:]:
        assert np.all(np.abs(part - totals / 5) <= 1)
    # The three parts together are the whole data set, each image once.
    whole = np.sort(np.concatenate([a.X_train, a.X_validation, a.X_test]), axis=0)
    from sklearn.datasets import load_digits
    np.testing.assert_array_equal(whole, np.sort(load_digits().data / 16, axis=0))


def test_the_mlp_split_comes_from_the_problem_seed():
    for x, y in zip(asynclab.MLP(seed=4).data, datasets.load("digits", seed=4)):
        np.testing.assert_array_equal(x, y)
    # Any whole number >= 0 is a seed, not only those below 2**32.
    huge = datasets.load("digits", seed=2**40)
    assert len(huge.y_test) == 359 and not np.array_equal(huge.y_test,
                                                          datasets.load("digits").y_test)


def _images(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 4, 3)).astype(np.uint8),
            rng.integers(0, 10, n).astype(np.uint8))


def _idx_bytes(array):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim])
    return header + np.array(array.shape, dtype=">u4").tobytes() + array.tobytes()


def _write_idx(directory, compress, train=(12, 0), test=(5, 1)):
    arrays = {}
    for which, (n, seed) in (("train", train), ("test", test)):
        images, labels = _images(n, seed)
        arrays[which] = images, labels
        for stem, array in zip(datasets.IDX_FILES[which], (images, labels)):
            raw = _idx_bytes(array)
            path = directory / (stem + (".gz" if compress else ""))
            path.write_bytes(gzip.compress(raw) if compress else raw)
    return arrays


def _rows_and_labels(X, y):
    """A part's examples as a sorted list of (pixels..., label): comparable as sets."""
    return sorted(map(tuple, np.column_stack([X, y])))


def _assert_carved(split, images, labels, validation):
    """The split's training and validation parts are the training file, each
    image once, ``validation`` of them in the validation part."""
    assert len(split.y_validation) == validation
    assert len(split.y_train) == len(labels) - validation
    parts = np.concatenate([split.X_train, split.X_validation]), np.concatenate(
        [split.y_train, split.y_validation])
    assert _rows_and_labels(*parts) == _rows_and_labels(
        images.reshape(len(images), -1) / 255.0, labels)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_idx_files_in_a_directory(tmp_path, compress):
    arrays = _write_idx(tmp_path, compress)
    split = datasets.load("mnist", tmp_path)
    _assert_carved(split, *arrays["train"], validation=2)      # a sixth of 12
    assert split.y_train.dtype == split.y_validation.dtype == np.int64
    images, labels = arrays["test"]                             # the official test set, as is
    np.testing.assert_array_equal(split.X_test, images.reshape(5, 12) / 255.0)
    np.testing.assert_array_equal(split.y_test, labels)
    problem = asynclab.MLP(dataset="fashion-mnist", data_path=str(tmp_path), hidden=(4,))
    assert (problem.features, problem.train_examples, problem.validation_examples,
            problem.test_examples) == (12, 10, 2, 5)


def test_an_npz_file(tmp_path):
    (x_train, y_train), (x_test, y_test) = _images(10, 0), _images(4, 1)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    split = datasets.load("mnist", path)
    np.testing.assert_array_equal(split.X_test, x_test.reshape(4, 12) / 255.0)
    _assert_carved(split, x_train, y_train, validation=2)
    # An MLP on it runs on every policy like any other problem.
    r = asynclab.run(problem=asynclab.MLP(dataset="mnist", data_path=str(path), hidden=(3,)),
                     policy="async", workers=2, gradients=20, batch=4)
    assert r.summary.final_accuracy is not None and r.summary.gradients == 20


def test_the_validation_set_is_a_stratified_sixth_of_the_training_file(tmp_path):
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (120, 4, 3)).astype(np.uint8)
    labels = np.repeat(np.arange(10, dtype=np.uint8), 12)        # sorted by class, 12 each
    test_images, test_labels = _images(7, 1)
    path = tmp_path / "sorted.npz"
    np.savez(path, x_train=images, y_train=labels, x_test=test_images, y_test=test_labels)
    split = datasets.load("mnist", path, seed=3)
    _assert_carved(split, images, labels, validation=20)
    # Stratified: two of every class, though the file is sorted by class.
    assert np.bincount(split.y_validation, minlength=10).tolist() == [2] * 10
    np.testing.assert_array_equal(split.y_test, test_labels)
    again, other = datasets.load("mnist", path, seed=3), datasets.load("mnist", path, seed=4)
    np.testing.assert_array_equal(again.X_validation, split.X_validation)
    assert not np.array_equal(other.X_validation, split.X_validation)
    np.testing.assert_array_equal(other.X_test, split.X_test)
    assert asynclab.MLP(dataset="mnist", data_path=str(path), seed=4).data.X_validation.tolist() \
        == other.X_validation.tolist()


def test_a_training_file_too_small_to_stratify_gets_a_plain_random_draw(tmp_path):
    path = tmp_path / "tiny.npz"
    x, y = _images(3, 0)
    y[:] = [0, 1, 2]                                  # one image per class: no stratifying
    np.savez(path, x_train=x, y_train=y, x_test=x, y_test=y)
    split = datasets.load("mnist", path)
    _assert_carved(split, x, y, validation=1)
    np.savez(path, x_train=x[:1], y_train=y[:1], x_test=x, y_test=y)
    message = _error("mnist", path)
    assert "a validation set is carved out of the training images, which needs at least 2 " \
           "of them, got 1" in message


def _error(name, path):
    with pytest.raises(ValueError) as info:
        datasets.load(name, path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_missing_files_are_named_with_how_to_get_them(tmp_path):
    missing = tmp_path / "nowhere" / "mnist.npz"
    message = _error("mnist", missing)
    assert str(missing) in message and "never downloads" in message
    assert "keras.datasets.mnist.load_data()" in message and "train-images-idx3-ubyte" in message
    assert "fashion-mnist" in _error("fashion-mnist", missing)
    assert "needs data_path" in _error("mnist", None)
    assert "data_path applies to mnist and fashion-mnist" in _error("digits", tmp_path)
    message = _error("mnist", tmp_path)          # an empty directory
    assert "no train-images-idx3-ubyte or train-images-idx3-ubyte.gz in" in message
    (tmp_path / "mnist.csv").write_text("1,2\n")
    assert "must be a directory holding the IDX files or an .npz file" in _error(
        "mnist", tmp_path / "mnist.csv")


def test_malformed_idx_files_are_named(tmp_path):
    _write_idx(tmp_path, compress=False)
    labels = tmp_path / "train-labels-idx1-ubyte"
    images = tmp_path / "train-images-idx3-ubyte"
    raw = images.read_bytes()
    images.write_bytes(raw[:-7])                                   # truncated
    message = _error("mnist", tmp_path)
    assert str(images) in message and "header promises shape (12, 4, 3)" in message
    images.write_bytes(b"\x89PNG" + raw[4:])                       # not IDX at all
    assert "is not an IDX file" in _error("mnist", tmp_path)
    images.write_bytes(raw[:10])                                   # header cut short
    assert "its header is cut short (10 bytes for 3 dimensions)" in _error("mnist", tmp_path)
    images.write_bytes(raw)
    labels.write_bytes(_idx_bytes(np.arange(11, dtype=np.uint8) % 10))   # 11 labels, 12 images
    assert "expected images (n, height, width) and n labels" in _error("mnist", tmp_path)
    labels.write_bytes(_idx_bytes(np.full(12, 10, dtype=np.uint8)))    # label 10
    assert "labels must be 0..9, got 10..10" in _error("mnist", tmp_path)
    labels.write_bytes(_idx_bytes(np.zeros(12, dtype=">i4")))         # other integer types load
    split = datasets.load("mnist", tmp_path)
    assert split.y_train.tolist() == [0] * 10 and split.y_validation.tolist() == [0] * 2
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x1f\x8b not really gzip")
    assert "cannot be read" in _error("mnist", tmp_path)
    corrupt = bytearray(gzip.compress(raw))
    corrupt[12:20] = b"\xff" * 8                                    # a gzip header, a broken stream
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(bytes(corrupt))
    assert "cannot be read" in _error("mnist", tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(np.zeros((5, 0), np.uint8)))
    assert "expected images (n, height, width)" in _error("mnist", tmp_path)


def test_malformed_npz_files_are_named(tmp_path):
    path = tmp_path / "data.npz"
    x, y = _images(5, 0)
    np.savez(path, x_train=x, y_train=y)
    message = _error("mnist", path)
    assert str(path) in message and "lacks x_test, y_test" in message
    np.savez(path, x_train=x / 255, y_train=y, x_test=x, y_test=y)
    assert "images and labels must be integers" in _error("mnist", path)
    np.savez(path, x_train=x, y_train=y[:3], x_test=x, y_test=y)
    assert "expected images" in _error("mnist", path)
    path.write_bytes(b"this is no zip file")
    assert "is not a readable .npz file" in _error("mnist", path)
    np.save(tmp_path / "one.npy", x)
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    assert "holds one array" in _error("mnist", tmp_path / "one.npz")


@pytest.mark.parametrize("args, needle", [
    (["--problem", "mlp", "--dataset", "cifar"], "unknown dataset 'cifar'"),
    (["--problem", "mlp", "--dataset", "mnist", "--data-path", "/no/such/mnist.npz"],
     "no file or directory '/no/such/mnist.npz'"),
    (["--problem", "mlp", "--dataset", "mnist"], "dataset 'mnist' needs data_path"),
    (["--problem", "least-squares", "--dataset", "digits"],
     "--dataset does not apply to problem 'least-squares'"),
    (["--problem", "sparse-logistic", "--data-path", "x.npz"],
     "--data-path does not apply to problem 'sparse-logistic'"),
    (["--problem", "mlp", "--hidden", "0"], "hidden must be layer sizes"),
    (["--problem", "mlp", "--hidden", "64,abc"], "got '64,abc'"),
    (["--problem", "mlp", "--hidden", ""], "got ''"),
    (["--problem", "logistic", "--dataset", "digits", "--hidden", "8"],
     "--hidden does not apply to problem 'logistic'"),
    (["--problem", "mlp", "--activation", "sigmoid"], "activation must be one of relu, tanh"),
    (["--momentum", "1"], "momentum must be in [0, 1), got 1.0"),
    (["--momentum", "-0.1"], "momentum must be in [0, 1), got -0.1"),
    (["--momentum", "nan"], "momentum must be a finite number"),
    (["--target-accuracy", "0"], "target_accuracy must be in (0, 1], got 0.0"),
    (["--target-accuracy", "1.5"], "target_accuracy must be in (0, 1], got 1.5"),
    (["--problem", "least-squares", "--target-accuracy", "0.9"],
     "target_accuracy needs a problem that reports accuracy"),
])
def test_bad_dataset_and_momentum_input_exits_2_with_one_line(capsys, args, needle):
    code = main(["run", *args])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert needle in err, err


def test_a_malformed_data_file_on_the_command_line_exits_2(capsys, tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 broken")
    code = main(["run", "--problem", "mlp", "--dataset", "mnist", "--data-path", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and str(path) in err and len(err.strip().splitlines()) == 1, err


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=40), st.builds(
    lambda kind, ndim, rest: bytes([0, 0, kind, ndim]) + rest,
    st.sampled_from(sorted(datasets.IDX_TYPES)), st.integers(0, 4), st.binary(max_size=40))))
def test_any_bytes_read_as_idx_give_an_array_or_one_clear_line(data):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "images-idx3-ubyte")
        with open(path, "wb") as f:
            f.write(data)
        try:
            array = datasets.read_idx(path)
        except ValueError as err:
            assert str(err).startswith(f"data file {path!r}") and "\n" not in str(err)
        else:
            assert array.ndim == data[3] and array.dtype.isnative
