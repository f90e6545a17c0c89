"""Real data sets, never downloaded: scikit-learn's digits, and MNIST or
Fashion-MNIST from a file the user supplies.

:func:`load` returns a :class:`Split`: training, validation and test images
as float64 rows of pixel intensities scaled to [0, 1], and integer labels
0..9. Training is for gradients; validation is for choices made while
training or tuning (a target accuracy, a learning rate); the test set is for
the final report only, so tuning never sees it.

* ``digits``: the 1,797 8x8 handwritten digits that scikit-learn ships
  inside its wheel (``sklearn.datasets.load_digits``; the test part of UCI
  optdigits), intensities 0..16. It has no official split, so one is drawn
  from the seed, 60/20/20: first the test fifth, then the validation fifth
  from the rest, each stratified by class (every digit in the same
  proportion in every part) with scikit-learn's ``train_test_split``.
* ``mnist`` and ``fashion-mnist``: 28x28 images, intensities 0..255, with
  their official 60,000 / 10,000 training / test split. The validation set
  is carved out of the training file, drawn from the seed and stratified:
  a sixth of it (10,000 images, as many as the test set), leaving 50,000
  for training (a plain random draw if a small file has too few images of
  some class to stratify). ``data_path`` is either a directory holding the four IDX
  files under their usual names (optionally gzipped), or an ``.npz`` file
  with arrays ``x_train, y_train, x_test, y_test`` (the layout Keras
  caches). A missing or malformed file raises ValueError naming the file, as
  do training and test images of different shapes.
"""
from __future__ import annotations

import functools
import gzip
import os
import zipfile
import zlib
from typing import NamedTuple

import numpy as np

from . import limits

DATASETS = ("digits", "mnist", "fashion-mnist")
CLASSES = 10
IDX_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# IDX element types (the third byte of the magic number) -> big-endian numpy dtype.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_NAMES = ", ".join(f"{stem}[.gz]" for pair in IDX_FILES.values() for stem in pair)
HOW_TO_GET = {
    "mnist": "asynclab never downloads data: save MNIST as an .npz file with x_train, y_train, "
             "x_test, y_test (keras.datasets.mnist.load_data() caches one as "
             "~/.keras/datasets/mnist.npz), or put its four IDX files in a directory "
             f"({_IDX_NAMES}; torchvision.datasets.MNIST keeps them in MNIST/raw), "
             "and pass that path as data_path (--data-path)",
    "fashion-mnist": "asynclab never downloads data: put the four Fashion-MNIST IDX files "
                     f"({_IDX_NAMES}; from github.com/zalandoresearch/fashion-mnist, "
                     "or torchvision.datasets.FashionMNIST's FashionMNIST/raw) in a directory, "
                     "or save them as an .npz file with x_train, y_train, x_test, y_test, "
                     "and pass that path as data_path (--data-path)",
}


# Fractions of the examples held out. Digits: of all 1,797. A training file: of its images.
DIGITS_TEST, DIGITS_VALIDATION = 0.2, 0.2
FILE_VALIDATION = 1 / 6


class Split(NamedTuple):
    X_train: np.ndarray          # (examples, pixels), float64 in [0, 1]
    y_train: np.ndarray          # (examples,), int64 in 0..9
    X_validation: np.ndarray
    y_validation: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def check(name, data_path=None):
    """ValueError (one line) unless ``name`` and ``data_path`` could be loaded."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "digits":
        if data_path is not None:
            raise ValueError(f"data_path applies to mnist and fashion-mnist; digits ships "
                             f"with scikit-learn, got data_path={data_path!r}")
        return
    if data_path is None:
        raise ValueError(f"dataset {name!r} needs data_path; {HOW_TO_GET[name]}")
    if not os.path.exists(data_path):
        raise ValueError(f"dataset {name!r}: no file or directory {str(data_path)!r}; "
                         f"{HOW_TO_GET[name]}")


def load(name, data_path=None, seed=0) -> Split:
    """The data set ``name`` as a :class:`Split` (see the module's docstring);
    ``seed`` (a whole number >= 0) draws the parts that are not official."""
    check(name, data_path)
    draws = np.random.RandomState(np.random.MT19937(seed))   # any seed >= 0, not only < 2**32
    if name == "digits":
        return _digits_split(draws)
    if os.path.isdir(data_path):
        parts = [_idx_from_directory(data_path, stem, name)
                 for which in ("train", "test") for stem in IDX_FILES[which]]
    elif str(data_path).endswith(".npz"):
        parts = _read_npz(data_path)
    else:
        raise ValueError(f"data_path {str(data_path)!r} must be a directory holding the IDX "
                         f"files or an .npz file; {HOW_TO_GET[name]}")
    return _file_split(*parts, data_path, draws)


def _carve(labels, size, draws):
    """Indices (kept, carved) of ``labels``: ``size`` of them drawn at random,
    stratified by class when every class can be (at least two examples each,
    and room for each on both sides); a plain random draw otherwise."""
    from sklearn.model_selection import train_test_split
    counts = np.bincount(labels)
    classes = np.count_nonzero(counts)
    stratified = counts[counts > 0].min() >= 2 and min(size, len(labels) - size) >= classes
    return train_test_split(np.arange(len(labels)), test_size=size, random_state=draws,
                            stratify=labels if stratified else None)


# -- digits ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits
    digits = load_digits()
    X, y = digits.data / 16.0, digits.target.astype(np.int64)
    X.flags.writeable = y.flags.writeable = False     # shared by every split: never modified
    return X, y


def _digits_split(draws):
    X, y = _digits()
    rest, test = _carve(y, round(DIGITS_TEST * len(y)), draws)
    kept, carved = _carve(y[rest], round(DIGITS_VALIDATION * len(y)), draws)
    train, validation = rest[kept], rest[carved]
    return Split(X[train], y[train], X[validation], y[validation], X[test], y[test])


# -- MNIST and Fashion-MNIST ------------------------------------------------------------
def _file_split(x_train, y_train, x_test, y_test, path, draws):
    """Training, validation (carved from the training images) and test rows."""
    x_train, y_train = _checked(x_train, y_train, path)
    x_test, y_test = _checked(x_test, y_test, path)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"data file {str(path)!r}: training images are "
                         f"{_size(x_train)} but test images are {_size(x_test)}; "
                         "both sets need images of one size")
    if len(y_train) < 2:
        raise ValueError(f"data file {str(path)!r}: a validation set is carved out of the "
                         f"training images, which needs at least 2 of them, got {len(y_train)}")
    train, validation = _carve(y_train, max(1, round(FILE_VALIDATION * len(y_train))), draws)
    return Split(_rows(x_train[train]), y_train[train],
                 _rows(x_train[validation]), y_train[validation], _rows(x_test), y_test)


def _size(images):
    return "x".join(map(str, images.shape[1:]))


def _rows(images):
    """Images (n, h, w) of intensities 0..255 -> (n, h * w) float64 rows in [0, 1]."""
    return images.reshape(len(images), -1) / 255.0


def _checked(images, labels, path):
    """Images (n, h, w) of intensities 0..255 and labels 0..9, checked; labels as int64."""
    where = f"data file {str(path)!r}"
    if (images.ndim < 2 or labels.ndim != 1 or len(images) != len(labels) or not len(labels)
            or not images.size):
        raise ValueError(f"{where}: expected images (n, height, width) and n labels, got "
                         f"shapes {images.shape} and {labels.shape}")
    if not (np.issubdtype(images.dtype, np.integer) and np.issubdtype(labels.dtype, np.integer)):
        raise ValueError(f"{where}: images and labels must be integers, got {images.dtype} "
                         f"and {labels.dtype}")
    if images.min() < 0 or images.max() > 255:
        raise ValueError(f"{where}: pixel intensities must be 0..255, got "
                         f"{images.min()}..{images.max()}")
    if labels.min() < 0 or labels.max() >= CLASSES:
        raise ValueError(f"{where}: labels must be 0..{CLASSES - 1}, got "
                         f"{labels.min()}..{labels.max()}")
    nbytes = 8.0 * images.size
    if nbytes > limits.MAX_DATA_BYTES:
        raise ValueError(f"{where}: {nbytes:.3g} bytes as float64 is more than a run may take "
                         f"(at most {limits.MAX_DATA_BYTES:.3g})")
    return images, labels.astype(np.int64)


def _idx_from_directory(directory, stem, name):
    for candidate in (stem, stem + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return read_idx(path)
    raise ValueError(f"dataset {name!r}: no {stem} or {stem}.gz in {str(directory)!r}; "
                     f"{HOW_TO_GET[name]}")


def read_idx(path) -> np.ndarray:
    """The array in one IDX file (gzipped or not), checked against its header."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:     # zlib.error: a corrupt gzip stream
        raise ValueError(f"data file {str(path)!r} cannot be read: {' '.join(str(err).split())}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES or raw[3] < 1:
        raise ValueError(f"data file {str(path)!r} is not an IDX file (its first bytes "
                         f"{raw[:4].hex()} are no IDX magic number)")
    ndim, dtype = raw[3], np.dtype(IDX_TYPES[raw[2]])
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(f"data file {str(path)!r}: its header is cut short ({len(raw)} bytes "
                         f"for {ndim} dimensions)")
    shape = tuple(int(x) for x in np.frombuffer(raw[4:start], dtype=">u4"))
    expected = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
    if len(raw) - start != expected:
        raise ValueError(f"data file {str(path)!r}: its header promises shape {shape} "
                         f"({expected} bytes of data) but it holds {max(len(raw) - start, 0)}")
    return np.frombuffer(raw, dtype=dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


def _read_npz(path):
    where = f"data file {str(path)!r}"
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds one array, not a set of named arrays")
        with archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise ValueError(f"{where} lacks {', '.join(missing)}; an .npz data set "
                                 f"holds {', '.join(NPZ_KEYS)}")
            return [archive[key] for key in NPZ_KEYS]
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as err:
        if str(err).startswith(where):
            raise
        raise ValueError(f"{where} is not a readable .npz file: {' '.join(str(err).split())}") from None
