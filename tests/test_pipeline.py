"""hepdl.common.pipeline: class mixing, seeded order, normalisation, the cache, errors, fit."""

import h5py
import numpy as np
import pytest

import keras
from hepdl.common.io import DataFileError, write_h5
from hepdl.common.pipeline import ClassMixPipeline

REBUILD = "python -m hepdl.datasets build --size ci toy"


def _files(folder, sizes=(40, 40, 40), *, seed=0):
    """One file per class: ``x`` (n, 2, 3) with x[:, 0, 0] = row, x[:, 0, 1] = class;
    ``img`` (n, 4) >= 0; ``energy`` (n,)."""
    rng = np.random.default_rng(seed)
    files = {}
    for c, n in enumerate(sizes):
        x = rng.normal(size=(n, 2, 3))
        x[:, 0, 0], x[:, 0, 1] = np.arange(n), c
        files[f"class{c}"] = write_h5(folder / f"class{c}.h5", {
            "x": x, "img": rng.exponential(3.0, size=(n, 4)),
            "energy": rng.uniform(10, 100, n)})
    return files


def _epoch(pipe):
    """(class, row) of every event of the current epoch, in order, checking labels."""
    seen = []
    for i in range(len(pipe)):
        x, y = pipe[i]
        assert x.dtype == np.float32 and y.dtype == np.int32
        np.testing.assert_array_equal(x[:, 0, 1], y)
        seen += list(zip(y.tolist(), x[:, 0, 0].astype(int).tolist()))
    return seen


def test_every_batch_is_balanced_and_every_event_seen_once(tmp_path):
    pipe = ClassMixPipeline(_files(tmp_path), ["x"], batch_size=12,
                            rng=np.random.default_rng(1))
    assert len(pipe) == 10 and pipe.n_events == 120
    for i in range(len(pipe)):
        assert np.bincount(pipe[i][1], minlength=3).tolist() == [4, 4, 4]
    first = _epoch(pipe)
    pipe.on_epoch_end()
    second = _epoch(pipe)
    everything = sorted((c, r) for c in range(3) for r in range(40))
    assert sorted(first) == everything and sorted(second) == everything
    assert first != second, "each epoch must draw a new order"


def test_classes_in_proportion_and_balanced_mix(tmp_path):
    files = _files(tmp_path, sizes=(20, 60))
    pipe = ClassMixPipeline(files, ["x"], batch_size=8, rng=np.random.default_rng(0))
    for i in range(len(pipe)):
        counts = np.bincount(pipe[i][1], minlength=2)
        assert abs(counts[0] - 2) <= 1 and counts.sum() == 8, counts
    assert sorted(_epoch(pipe)) == sorted([(0, r) for r in range(20)] +
                                          [(1, r) for r in range(60)])
    balanced = ClassMixPipeline(files, ["x"], batch_size=8, rng=np.random.default_rng(0),
                                mix="balanced")
    seen = _epoch(balanced)
    assert balanced.n_events == 40 and len(set(seen)) == 40
    assert np.bincount([c for c, _ in seen]).tolist() == [20, 20]


def test_same_seed_same_order_different_seed_different(tmp_path):
    files = _files(tmp_path)

    def two_epochs(seed):
        pipe = ClassMixPipeline(files, ["x"], batch_size=16, rng=np.random.default_rng(seed))
        first = _epoch(pipe)
        pipe.on_epoch_end()
        return first + _epoch(pipe)

    assert two_epochs(7) == two_epochs(7)
    assert two_epochs(7) != two_epochs(8)
    fixed = ClassMixPipeline(files, ["x"], batch_size=16, rng=None)
    order = _epoch(fixed)
    fixed.on_epoch_end()
    assert _epoch(fixed) == order


def test_normalisation_and_shared_stats(tmp_path):
    files = _files(tmp_path)
    raw = {name: h5py.File(path)["img"][()] for name, path in files.items()}
    pipe = ClassMixPipeline(files, ["x", "img"], targets=["energy"], batch_size=120,
                            rng=None, normalise={"img": "log1p", "energy": "standard"})
    (x, img), (labels, energy) = pipe[0]
    rows = x[:, 0, 0].astype(int)
    expected = np.stack([raw[f"class{c}"][r] for c, r in zip(labels, rows)])
    np.testing.assert_allclose(img, np.log1p(expected), rtol=1e-6)
    assert energy.dtype == np.float32
    np.testing.assert_allclose([energy.mean(), energy.std()], [0.0, 1.0], atol=1e-5)
    # a validation part normalised with the training part's numbers
    train = ClassMixPipeline(files, ["x"], targets=["energy"], labels=False, batch_size=60,
                             rng=None, events=slice(0, 20), normalise={"energy": "standard"})
    valid = ClassMixPipeline(files, ["x"], targets=["energy"], labels=False, batch_size=60,
                             rng=None, events=slice(20, None), normalise={"energy": "standard"},
                             stats=train.stats)
    mean, std = train.stats["energy"]
    x, energy = valid[0]
    assert energy.shape == (60,) and x[:, 0, 0].min() >= 20
    truth = np.concatenate([h5py.File(files[f"class{c}"])["energy"][20:] for c in range(3)])
    np.testing.assert_allclose(np.sort(energy), np.sort((truth - mean) / std), rtol=1e-5)


def test_second_epoch_opens_no_file(tmp_path, monkeypatch):
    files = _files(tmp_path)
    pipe = ClassMixPipeline(files, ["x"], batch_size=16, rng=np.random.default_rng(3),
                            block_size=16)
    opened = []
    real = h5py.File
    monkeypatch.setattr(h5py, "File", lambda *a, **k: opened.append(a[0]) or real(*a, **k))
    first = _epoch(pipe)
    assert opened and pipe.cache_info["fully_cached"]
    assert len(opened) == 3 * 3, "40 events per class in blocks of 16: 3 reads per file"
    opened.clear()
    pipe.on_epoch_end()
    assert sorted(_epoch(pipe)) == sorted(first)
    assert opened == [], "the second epoch must come from memory"


def test_over_the_cache_limit_reads_again_with_the_same_batches(tmp_path):
    files = _files(tmp_path)
    batches = []
    # 120 events x 24 B = 2.9 kB in 15 blocks of 192 B: all of it, then 13 blocks, so that one
    # class is partly in memory and partly read again every epoch
    for cache_mb in (1.0, 0.0025):
        pipe = ClassMixPipeline(files, ["x"], batch_size=16, rng=np.random.default_rng(5),
                                cache_mb=cache_mb, block_size=8)
        _epoch(pipe)
        pipe.on_epoch_end()
        reads = pipe.cache_info["file_reads"]
        batches.append([pipe[i] for i in range(len(pipe))])
        info = pipe.cache_info
        assert info["cached_mb"] <= cache_mb
        assert info["fully_cached"] == (cache_mb == 1.0)
        assert (info["file_reads"] > reads) == (cache_mb != 1.0)
    for (x1, y1), (x2, y2) in zip(*batches):
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


def test_missing_file_names_it_and_the_command(tmp_path):
    files = _files(tmp_path, sizes=(10, 10))
    files["class1"].unlink()
    with pytest.raises(DataFileError, match=r"class1\.h5 \(class 'class1'\) does not exist"
                                              r"(.|\n)*--size ci toy"):
        ClassMixPipeline(files, ["x"], batch_size=4, rng=None, rebuild=REBUILD)


def test_corrupt_or_incomplete_files_name_the_file_and_the_command(tmp_path):
    files = _files(tmp_path, sizes=(10, 10))
    files["class0"].write_bytes(b"not an HDF5 file at all")
    with pytest.raises(DataFileError, match=r"class0\.h5 is not a readable HDF5(.|\n)*toy"):
        ClassMixPipeline(files, ["x"], batch_size=4, rng=None, rebuild=REBUILD)
    files = _files(tmp_path, sizes=(10, 10))
    with pytest.raises(DataFileError, match=r"class0'\) has no dataset 'ECAL'; it has "
                                              r"\['energy', 'img', 'x'\](.|\n)*toy"):
        ClassMixPipeline(files, ["ECAL"], batch_size=4, rng=None,
                         rebuild={"class0": REBUILD, "class1": REBUILD})


def test_damage_inside_the_data_is_caught_when_read(tmp_path):
    files = _files(tmp_path, sizes=(10, 10))
    with h5py.File(files["class1"]) as f:
        info = f["x"].id.get_chunk_info(0)
    with open(files["class1"], "r+b") as f:  # overwrite the compressed bytes of the data
        f.seek(info.byte_offset)
        f.write(b"\xff" * info.size)
    pipe = ClassMixPipeline(files, ["x"], batch_size=4, rng=None, rebuild=REBUILD)
    with pytest.raises(DataFileError, match=r"class1\.h5 \(class 'class1'\) could not be read"
                                              r"(.|\n)*corrupt(.|\n)*toy"):
        _epoch(pipe)


def test_argument_errors_name_the_argument(tmp_path):
    files = _files(tmp_path, sizes=(10, 10))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        ClassMixPipeline(files, ["x"], batch_size=4, rng=7)
    with pytest.raises(ValueError, match="normalise\\['x'\\] must be one of"):
        ClassMixPipeline(files, ["x"], batch_size=4, rng=None, normalise={"x": "zscore"})
    with pytest.raises(ValueError, match="batch_size must be an integer of at least 1"):
        ClassMixPipeline(files, ["x"], batch_size=0, rng=None)
    with pytest.raises(ValueError, match="events=slice.* selects no event"):
        ClassMixPipeline(files, ["x"], batch_size=4, rng=None, events=slice(50, 60))


def test_model_fit_trains_with_worker_threads_one_order_per_epoch(tmp_path):
    files = _files(tmp_path, sizes=(64, 64))
    calls = []

    class Logged(ClassMixPipeline):
        def __getitem__(self, index):
            calls.append((self.epoch, index))
            return super().__getitem__(index)

    pipe = Logged(files, ["img"], batch_size=16, rng=np.random.default_rng(0),
                  normalise={"img": "log1p"}, workers=2)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(pipe, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.isfinite(history.history["loss"]).all()
    assert pipe.cache_info["fully_cached"]
    # Keras reads two batches to learn the shapes, then calls on_epoch_end once before training:
    # every training epoch must ask for each batch of one order exactly once.
    for epoch in (pipe.epoch - 2, pipe.epoch - 1):
        assert sorted(i for e, i in calls if e == epoch) == list(range(len(pipe)))


def test_fill_cache_and_pickling_for_worker_processes(tmp_path):
    import pickle

    pipe = ClassMixPipeline(_files(tmp_path), ["x"], batch_size=16, rng=np.random.default_rng(2))
    info = pipe.fill_cache()
    assert info["fully_cached"] and info["file_reads"] == 3
    assert info["cached_mb"] == pytest.approx(120 * 24 / 1e6)
    copy = pickle.loads(pickle.dumps(pipe))
    for i in range(len(pipe)):
        np.testing.assert_array_equal(copy[i][0], pipe[i][0])
    assert copy.cache_info["file_reads"] == 3, "the copy must come with the cache"
