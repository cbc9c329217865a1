"""A training-data pipeline over one HDF5 file per class (importing this module imports Keras).

:class:`ClassMixPipeline` is a ``keras.utils.PyDataset``: give it a mapping class name -> file
and the datasets to read, and ``model.fit(pipeline)`` gets ``(x, y)`` batches in which the
classes are mixed, ``y`` being the class index (and any target datasets), shuffled anew every
epoch from a seeded generator, normalised, and read from memory from the second epoch on::

    import numpy as np
    from hepdl.common.data import rebuild_command
    from hepdl.common.pipeline import ClassMixPipeline

    files = {"gamma": folder / "GammaEscan_1_1.h5", "pi0": folder / "Pi0Escan_1_1.h5"}
    train = ClassMixPipeline(files, ["ECAL"], batch_size=128, rng=np.random.default_rng(SEED),
                             events=slice(0, 2000), normalise={"ECAL": "log1p"},
                             rebuild=rebuild_command("calorimeter_showers", SIZE))
    valid = ClassMixPipeline(files, ["ECAL"], batch_size=512, rng=None,
                             events=slice(2000, None), normalise={"ECAL": "log1p"})
    model.fit(train, validation_data=valid, epochs=EPOCHS)

What it does, and why so
------------------------
**Classes in proportion.** Every epoch holds every selected event of every class exactly once
(``mix="proportional"``). The classes are interleaved evenly, so that each batch holds each
class in the proportion of its number of events, to within one event; with equally large
files and a batch size divisible by the number of classes, every batch is exactly balanced.
``mix="balanced"`` instead takes, every epoch, as many events of each class as the smallest
class has (a fresh random subset of the larger ones): balanced batches, at the price of not
seeing every event each epoch. ``y`` is the class's position in ``files`` (int32).

**Seeded shuffling.** ``rng`` (keyword-only, a ``numpy.random.Generator``, no default) draws
each epoch's order: a permutation of each class's events, then the interleave. The same seed
gives the same sequence of epochs; ``rng=None`` keeps a fixed order (validation data). Within a
batch the events are grouped by class and sorted by their row in the file (a gradient step does
not depend on the order within its batch; it makes each batch one contiguous copy per class).
``model.fit`` also permutes the order of whole batches (its ``shuffle=True``, drawn from
Python's ``random``, which ``keras.utils.set_random_seed`` seeds): pass ``shuffle=False`` to get
exactly the pipeline's order.

**Normalisation** (``normalise={key: method}``), applied once, when an event is read:

- ``"log1p"``: ``x -> ln(1 + x)`` with ``x`` in the file's own unit (GeV for the calorimeter
  cells, so ``ln(1 + E / 1 GeV)``): compresses the many decades of cell energies; needs
  ``x > -1``.
- ``"standard"``: ``(x - mean) / std`` per feature (per cell of an image, per column of a
  table), ``mean`` and ``std`` in the file's unit, fitted on this pipeline's selected events
  (all classes together) when it is made, at the cost of one extra pass over those datasets.
  A feature that never varies gets ``std = 1``. Give a validation pipeline the training
  pipeline's :attr:`~ClassMixPipeline.stats` so that both use the training part's numbers.

Inputs and targets come out as float32, dimensionless after normalisation.

**Contiguous reads.** Files are read in blocks of ``block_size`` consecutive events, one h5py
slice per dataset (``f["ECAL"][i:j]``), never one call per event: HDF5 then decompresses the
block's chunks in one C loop. Each read opens the file and closes it again, so a file handle
is never shared between processes.

**The cache.** Decoded, normalised blocks stay in memory, up to ``cache_mb`` megabytes (10^6
bytes) of arrays in all. When everything fits (see :attr:`~ClassMixPipeline.cache_info`), the
first epoch reads every block once and every later epoch opens no file: a batch is then one
``numpy.take`` per class and dataset. Above the limit, the blocks that came first stay cached
and the others are read again every epoch, only the rows a batch needs (one h5py call per
class and batch, so the speed then depends on the file's chunking): training works, but the
later epochs are as slow as the first for that part. Raise ``cache_mb`` or select fewer
``events`` when ``cache_info["fully_cached"]`` is False. ``cache_mb=0`` caches nothing.

**Workers.** ``workers``, ``use_multiprocessing`` and ``max_queue_size`` go to
``keras.utils.PyDataset``: with ``workers > 1`` Keras prepares batches in that many threads
(or processes) ahead of the model. Threads share the cache; HDF5 reads are serialised by
h5py's lock, but gathering from the cache runs outside it. Keras makes a new process pool every
epoch, so processes do not keep what they cache: with ``use_multiprocessing=True`` call
:meth:`~ClassMixPipeline.fill_cache` first, so that the forked workers inherit a full cache.
With a full cache a batch costs ~1-2 ms per 128 calorimeter images, far less than a training
step, and one worker (the default) is enough: on the TensorFlow backend Keras already prepares
the next batches in a background thread (``tf.data`` prefetch).

**Why a PyDataset and not tf.data.** The files are HDF5 and h5py is Python: a ``tf.data``
pipeline would have to call it through ``from_generator`` or ``py_function``, Python all the
same, and tie the course to TensorFlow, where a ``PyDataset`` works with every Keras backend
(TensorFlow, JAX, PyTorch). ``tf.data``'s ``cache`` and ``shuffle`` would shuffle within a
buffer, not the whole epoch, and hide the caching and the ordering this module makes explicit:
plain numpy and h5py that a student can read. Keras feeds a ``PyDataset`` to TensorFlow through
``tf.data`` with prefetching anyway.

Errors: a missing file, a file that is not HDF5, a missing dataset, datasets of different
lengths or shapes, and damage found while reading all raise
:class:`hepdl.common.io.DataFileError`, naming the file, its class and, when ``rebuild`` is
given (``hepdl.common.data.rebuild_command(NAME, SIZE)``), the command that rebuilds it.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import h5py
import keras
import numpy as np

from hepdl.common.checks import positive_int
from hepdl.common.io import DataFileError, open_h5, rebuild_hint

__all__ = ["MIXES", "NORMALISATIONS", "ClassMixPipeline"]

#: The normalisations :class:`ClassMixPipeline` knows (see the module docstring).
NORMALISATIONS = ("log1p", "standard")
#: How the classes are mixed: every event once, or as many of each class as the smallest has.
MIXES = ("proportional", "balanced")
_BYTES_PER_MB = 1_000_000


class ClassMixPipeline(keras.utils.PyDataset):
    """Mixed, shuffled, normalised ``(x, y)`` batches from one HDF5 file per class, cached.

    See the module docstring for the design (ordering, normalisation, cache, workers).

    Parameters
    ----------
    files : class name -> HDF5 file; the class index (``y``) is the position in this mapping
    keys : the input datasets (``["ECAL"]``); ``x`` is one array for one key, else a tuple in
        this order. Each has the events along its first axis and the same per-event shape in
        every file.
    batch_size : events per batch (the last batch of an epoch may be smaller)
    rng : draws each epoch's order; None for a fixed order (no shuffling)
    targets : datasets returned after the class index (``["energy"]``), float32
    labels : whether ``y`` starts with the class index; ``y`` is one array when it holds one
        item, else a tuple (labels first, then ``targets``)
    normalise : dataset -> ``"log1p"`` or ``"standard"``; the others are returned as stored
        (cast to float32)
    stats : dataset -> ``(mean, std)`` for the ``"standard"`` ones, from another pipeline's
        :attr:`stats`; fitted on this pipeline's events if None
    events : the events of each file to use (``slice(0, 2000)``: a training part), all if None
    mix : ``"proportional"`` or ``"balanced"`` (module docstring)
    cache_mb : the most decoded data kept in memory, in MB (10^6 bytes); 0 keeps none
    block_size : events read by one contiguous h5py read
    rebuild : the command that rebuilds the files (one for all, or class -> command), quoted
        in errors
    workers, use_multiprocessing, max_queue_size : passed to ``keras.utils.PyDataset``

    Attributes
    ----------
    class_names, class_sizes : the classes, in ``files``' order, and their selected events
    shapes : dataset -> per-event shape
    stats : dataset -> ``(mean, std)`` (float32, the file's unit) of the ``"standard"`` ones
    epoch : how many times ``on_epoch_end`` was called (Keras calls it once before training)
    file_reads : how many times a file was opened to read events

    Raises
    ------
    hepdl.common.io.DataFileError
        A file is missing, not HDF5, lacks a dataset, or its datasets disagree in length or
        per-event shape (with the other files too).
    ValueError, TypeError
        An argument is out of range; the message names it.

    Examples
    --------
    >>> import tempfile
    >>> from hepdl.common.io import write_h5
    >>> folder = Path(tempfile.mkdtemp())
    >>> files = {name: write_h5(folder / f"{name}.h5", {"x": np.full((6, 2), value)})
    ...          for name, value in (("a", 1.0), ("b", 2.0))}
    >>> pipe = ClassMixPipeline(files, ["x"], batch_size=4, rng=np.random.default_rng(0),
    ...                         normalise={"x": "log1p"})
    >>> len(pipe), pipe.n_events
    (3, 12)
    >>> x, y = pipe[0]
    >>> x.shape, x.dtype.name, np.bincount(y).tolist()
    ((4, 2), 'float32', [2, 2])
    """

    def __init__(
        self,
        files: Mapping[str, str | os.PathLike],
        keys: Sequence[str],
        *,
        batch_size: int,
        rng: np.random.Generator | None,
        targets: Sequence[str] = (),
        labels: bool = True,
        normalise: Mapping[str, str] | None = None,
        stats: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
        events: slice | None = None,
        mix: str = "proportional",
        cache_mb: float = 1000.0,
        block_size: int = 256,
        rebuild: str | Mapping[str, str] | None = None,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing,
                         max_queue_size=max_queue_size)
        if not isinstance(files, Mapping) or not files:
            raise ValueError(f"files must be a non-empty mapping class name -> HDF5 file, got "
                             f"{files!r}")
        self.class_names = [str(name) for name in files]
        self.files = [Path(path) for path in files.values()]
        self.keys = _names("keys", keys, allow_empty=False)
        self.targets = _names("targets", targets, allow_empty=True)
        overlap = set(self.keys) & set(self.targets)
        if overlap:
            raise ValueError(f"a dataset cannot be both an input and a target: {sorted(overlap)}")
        self.labels = bool(labels)
        if not self.labels and not self.targets:
            raise ValueError("labels=False needs at least one dataset in targets, else y is empty")
        self.batch_size = positive_int("batch_size", batch_size)
        self.block_size = positive_int("block_size", block_size)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(SEED)) "
                            f"or None for a fixed order, got {rng!r}")
        self.rng = rng
        if mix not in MIXES:
            raise ValueError(f"mix must be one of {MIXES}, got {mix!r}")
        self.mix = mix
        if isinstance(cache_mb, bool) or not isinstance(cache_mb, (int, float)) or not (
                cache_mb >= 0 and math.isfinite(cache_mb)):
            raise ValueError(f"cache_mb must be a finite number of megabytes >= 0, got "
                             f"{cache_mb!r}")
        self.cache_mb = float(cache_mb)
        self.normalise = dict(normalise or {})
        for key, method in self.normalise.items():
            if key not in self.keys + self.targets:
                raise ValueError(f"normalise names {key!r}, which is neither in keys "
                                 f"{self.keys} nor in targets {self.targets}")
            if method not in NORMALISATIONS:
                raise ValueError(f"normalise[{key!r}] must be one of {NORMALISATIONS}, got "
                                 f"{method!r}")
        if isinstance(rebuild, Mapping):
            self._rebuild = [rebuild.get(name) for name in files]
        else:
            self._rebuild = [rebuild] * len(self.files)
        if events is not None and (not isinstance(events, slice)
                                   or events.step not in (None, 1)):
            raise ValueError(f"events must be a slice of consecutive events "
                             f"(slice(0, 2000)) or None, got {events!r}")

        self._arrays = self.keys + self.targets
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._start, self.class_sizes = [], []
        for c in range(len(self.files)):
            n = self._inspect(c)
            start, stop, _ = (events or slice(None)).indices(n)
            if stop <= start:
                raise ValueError(f"events={events!r} selects no event of class "
                                 f"{self.class_names[c]!r} ({self.files[c]} has {n})")
            self._start.append(start)
            self.class_sizes.append(stop - start)
        self._event_bytes = sum(4 * math.prod(self.shapes[key]) for key in self._arrays)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._cache: list[dict[str, np.ndarray] | None] = [None] * len(self.files)
        self._loaded = [np.zeros(-(-n // self.block_size), bool) for n in self.class_sizes]
        self._cached_bytes = 0
        self.file_reads = 0
        self.stats = self._fit_stats(stats)
        self.epoch = 0
        self._order = self._draw_order()

    # --- what Keras calls -------------------------------------------------------------------

    def __len__(self) -> int:
        return -(-len(self._order[0]) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range: the epoch has {len(self)}")
        self._after_fork()
        cls, rows = self._order
        lo, hi = index * self.batch_size, min((index + 1) * self.batch_size, len(cls))
        cls, rows = cls[lo:hi], rows[lo:hi]
        out = {key: np.empty((hi - lo, *self.shapes[key]), np.float32) for key in self._arrays}
        for c in np.unique(cls):
            where = np.flatnonzero(cls == c)
            self._take(int(c), rows[where], out, slice(where[0], where[-1] + 1))
        x = tuple(out[key] for key in self.keys)
        y = (cls.astype(np.int32),) if self.labels else ()
        y += tuple(out[key] for key in self.targets)
        return (x[0] if len(x) == 1 else x), (y[0] if len(y) == 1 else y)

    def on_epoch_end(self):
        """Draw the next epoch's order (Keras calls this after every epoch)."""
        self.epoch += 1
        if self.rng is not None:
            self._order = self._draw_order()

    # --- public helpers ---------------------------------------------------------------------

    @property
    def n_events(self) -> int:
        """Events per epoch (all classes)."""
        return int(len(self._order[0]))

    @property
    def cache_info(self) -> dict:
        """``cached_mb`` (in memory now), ``needed_mb`` (all selected events), ``limit_mb``,
        ``fully_cached`` (every block is in memory: no file is read any more) and
        ``file_reads`` (how many times a file was opened to read events)."""
        needed = sum(self.class_sizes) * self._event_bytes
        return {"cached_mb": self._cached_bytes / _BYTES_PER_MB,
                "needed_mb": needed / _BYTES_PER_MB,
                "limit_mb": self.cache_mb,
                "fully_cached": all(loaded.all() for loaded in self._loaded),
                "file_reads": self.file_reads}

    def fill_cache(self) -> dict:
        """Read now every block that fits in the cache (before forking workers); return
        :attr:`cache_info`."""
        self._after_fork()
        for c, loaded in enumerate(self._loaded):
            for block in range(len(loaded)):
                self._ensure(c, block)
        return self.cache_info

    # --- reading ----------------------------------------------------------------------------

    def _hint(self, c: int) -> str:
        return rebuild_hint(self._rebuild[c])

    def _where(self, c: int) -> str:
        return f"Data file {self.files[c]} (class {self.class_names[c]!r})"

    def _damaged(self, c: int, err: Exception) -> DataFileError:
        fix = "build it again" if self._rebuild[c] else "replace it with a good copy"
        return DataFileError(
            f"{self._where(c)} could not be read ({type(err).__name__}: {err}). It may be "
            f"truncated or corrupt: {fix}.{self._hint(c)}")

    def _open(self, c: int) -> h5py.File:
        path = self.files[c]
        if not path.is_file():
            raise DataFileError(f"{self._where(c)} does not exist.{self._hint(c)}")
        return open_h5(path, rebuild=self._rebuild[c])

    def _inspect(self, c: int) -> int:
        """Check file ``c``'s datasets (present, same length, same per-event shapes as the
        other files); return its number of events."""
        try:
            with self._open(c) as f:
                absent = [key for key in self._arrays
                          if key not in f or not isinstance(f[key], h5py.Dataset)]
                if absent:
                    raise DataFileError(
                        f"{self._where(c)} has no dataset {', '.join(map(repr, absent))}; it "
                        f"has {sorted(f.keys())}. It may come from an older generator, or "
                        f"another data set.{self._hint(c)}")
                n = None
                for key in self._arrays:
                    shape = f[key].shape
                    if not shape:
                        raise DataFileError(
                            f"{self._where(c)}: dataset {key!r} is a scalar, not one entry per "
                            f"event.{self._hint(c)}")
                    if n is not None and shape[0] != n:
                        raise DataFileError(
                            f"{self._where(c)}: dataset {key!r} has shape {shape}, but the "
                            f"file's other datasets have {n} events. The file is truncated or "
                            f"was assembled from different files.{self._hint(c)}")
                    n = shape[0]
                    expected = self.shapes.setdefault(key, tuple(shape[1:]))
                    if tuple(shape[1:]) != expected:
                        raise DataFileError(
                            f"{self._where(c)}: dataset {key!r} holds events of shape "
                            f"{tuple(shape[1:])}, but {self.files[0]} holds {expected}: every "
                            f"class's file must have the same layout.{self._hint(c)}")
                return int(n)
        except DataFileError:
            raise
        except Exception as err:  # h5py raises OSError, RuntimeError, KeyError, ... on damage
            raise self._damaged(c, err) from err

    def _read(self, c: int, rows: slice | np.ndarray, keys: Sequence[str],
              into: dict[str, np.ndarray] | None = None) -> dict:
        """Raw arrays of class ``c``'s selected events ``rows`` (a slice, or increasing
        indices), as stored; or, with ``into`` (key -> float32 array of the rows' shape),
        written there (h5py decompresses straight into it) and ``into`` returned."""
        if isinstance(rows, slice):
            where = slice(rows.start + self._start[c], rows.stop + self._start[c])
        else:
            where = rows + self._start[c]
        self.file_reads += 1
        try:
            with self._open(c) as f:
                if into is None:
                    return {key: f[key][where] for key in keys}
                for key in keys:
                    dataset = f[key]
                    if dataset.dtype == np.float32 and into[key].flags.c_contiguous:
                        dataset.read_direct(into[key], source_sel=where)
                    else:
                        into[key][...] = dataset[where]
                return into
        except DataFileError:
            raise
        except Exception as err:
            raise self._damaged(c, err) from err

    def _normalise(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Normalise float32 arrays in place (one pass each); return ``data``."""
        for key, value in data.items():
            method = self.normalise.get(key)
            if method == "log1p":
                np.log1p(value, out=value)
            elif method == "standard":
                mean, std = self.stats[key]
                value -= mean
                value /= std
        return data

    def _fit_stats(self, given) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        wanted = [key for key, method in self.normalise.items() if method == "standard"]
        if given is not None:
            missing = [key for key in wanted if key not in given]
            if missing:
                raise ValueError(f"stats lacks {missing}, normalised with 'standard'; pass the "
                                 f"training pipeline's .stats")
            stats = {}
            for key in wanted:
                mean, std = (np.asarray(a, np.float32) for a in given[key])
                if mean.shape != self.shapes[key] or std.shape != self.shapes[key]:
                    raise ValueError(f"stats[{key!r}] has shapes {mean.shape}, {std.shape}; "
                                     f"{key} holds events of shape {self.shapes[key]}")
                stats[key] = (mean, std)
            return stats
        if not wanted:
            return {}
        total = {key: np.zeros(self.shapes[key]) for key in wanted}
        squares = {key: np.zeros(self.shapes[key]) for key in wanted}
        for c, n in enumerate(self.class_sizes):
            for lo in range(0, n, self.block_size):
                raw = self._read(c, slice(lo, min(lo + self.block_size, n)), wanted)
                for key in wanted:
                    value = raw[key].astype(np.float64)
                    total[key] += value.sum(axis=0)
                    squares[key] += np.square(value).sum(axis=0)
        count = sum(self.class_sizes)
        stats = {}
        for key in wanted:
            mean = total[key] / count
            std = np.sqrt(np.maximum(squares[key] / count - mean**2, 0.0))
            std = np.where(std > 0, std, 1.0)
            stats[key] = (mean.astype(np.float32), std.astype(np.float32))
        return stats

    # --- the cache --------------------------------------------------------------------------

    def _after_fork(self) -> None:
        """A forked worker gets a fresh lock (the parent's may have been held while forking)."""
        if os.getpid() != self._pid:
            self._pid = os.getpid()
            self._lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _ensure(self, c: int, block: int) -> bool:
        """Load ``block`` of class ``c`` into the cache if it fits; whether it is cached."""
        if self._loaded[c][block]:
            return True
        with self._lock:
            if self._loaded[c][block]:
                return True
            lo = block * self.block_size
            hi = min(lo + self.block_size, self.class_sizes[c])
            size = (hi - lo) * self._event_bytes
            if self._cached_bytes + size > self.cache_mb * _BYTES_PER_MB:
                return False
            if self._cache[c] is None:  # pages are committed only as blocks are written
                self._cache[c] = {key: np.empty((self.class_sizes[c], *self.shapes[key]),
                                                np.float32) for key in self._arrays}
            block_arrays = {key: self._cache[c][key][lo:hi] for key in self._arrays}
            self._normalise(self._read(c, slice(lo, hi), self._arrays, into=block_arrays))
            self._cached_bytes += size
            self._loaded[c][block] = True
            return True

    def _take(self, c: int, rows: np.ndarray, out: dict, into: slice) -> None:
        """Write class ``c``'s events ``rows`` (increasing) into ``out[key][into]``."""
        blocks = rows // self.block_size
        cached = np.zeros(len(rows), bool)
        for block in np.unique(blocks):
            if self._ensure(c, int(block)):
                cached |= blocks == block
        if cached.all():
            for key in self._arrays:
                # rows are valid: "clip" skips the buffered copy that "raise" makes with out=
                np.take(self._cache[c][key], rows, axis=0, out=out[key][into], mode="clip")
            return
        rest = self._normalise({key: np.asarray(value, np.float32) for key, value in
                                self._read(c, rows[~cached], self._arrays).items()})
        for key in self._arrays:
            target = out[key][into]
            if cached.any():
                target[cached] = self._cache[c][key][rows[cached]]
            target[~cached] = rest[key]

    # --- the order --------------------------------------------------------------------------

    def _draw_order(self) -> tuple[np.ndarray, np.ndarray]:
        """This epoch's (class, row) of every event: classes interleaved evenly, then each
        batch grouped by class and sorted by row."""
        sizes = self.class_sizes
        take = [min(sizes)] * len(sizes) if self.mix == "balanced" else sizes
        classes, rows, keys = [], [], []
        for c, (n, m) in enumerate(zip(sizes, take)):
            order = self.rng.permutation(n)[:m] if self.rng is not None else np.arange(m)
            classes.append(np.full(m, c, np.int32))
            rows.append(order)
            keys.append((np.arange(m) + 0.5) / m)  # event j of m sits at (j + 1/2) / m
        cls, row, key = (np.concatenate(a) for a in (classes, rows, keys))
        order = np.lexsort((cls, key))
        cls, row = cls[order], row[order]
        batch = np.arange(len(cls)) // self.batch_size
        order = np.lexsort((row, cls, batch))
        return cls[order], row[order]


def _names(name: str, value, *, allow_empty: bool) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(
            isinstance(v, str) and v for v in value):
        raise ValueError(f"{name} must be a list of dataset names (['ECAL']), got {value!r}")
    if not value and not allow_empty:
        raise ValueError(f"{name} must name at least one dataset, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} names a dataset twice: {value!r}")
    return list(value)
