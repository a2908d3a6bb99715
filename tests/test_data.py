import os
import shutil
from pathlib import Path

import pytest
import torch

from hgsr import data as hdata
from conftest import load_or_skip

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def counts(y, k=10):
    return torch.bincount(y, minlength=k).tolist()


def test_mnist_shapes_dtypes_and_label_counts(mnist):
    assert mnist.train_x.shape == (60000, 1, 28, 28) and mnist.test_x.shape == (10000, 1, 28, 28)
    assert mnist.train_x.dtype == torch.uint8 and mnist.train_y.dtype == torch.int64
    assert counts(mnist.train_y) == MNIST_TRAIN and counts(mnist.test_y) == MNIST_TEST
    assert mnist.num_classes == 10 and mnist.train_x.max() == 255


def test_fashion_mnist():
    ds = load_or_skip("fashion_mnist")
    assert ds.train_x.shape == (60000, 1, 28, 28) and ds.test_x.shape == (10000, 1, 28, 28)
    assert counts(ds.train_y) == [6000] * 10 and counts(ds.test_y) == [1000] * 10


def test_cifar10():
    ds = load_or_skip("cifar10")
    assert ds.train_x.shape == (50000, 3, 32, 32) and ds.test_x.shape == (10000, 3, 32, 32)
    assert ds.train_x.dtype == torch.uint8
    assert counts(ds.train_y) == [5000] * 10 and counts(ds.test_y) == [1000] * 10
    assert ds.classes[0] == "airplane" and ds.classes[9] == "truck"


def test_digits_and_synthetic_are_offline():
    d = hdata.load("digits")
    assert d.train_x.shape == (1437, 1, 8, 8) and d.test_x.shape == (360, 1, 8, 8)
    assert d.train_x.dtype == torch.uint8
    # stratified test split: every class in proportion to its frequency in the 1,797 images
    total = [a + b for a, b in zip(counts(d.train_y), counts(d.test_y))]
    assert all(abs(t - 360 * n / 1797) < 1 for t, n in zip(counts(d.test_y), total))
    s = hdata.load("synthetic")
    assert s.train_x.shape == (512, 1, 16, 16) and s.num_classes == 4


def test_unknown_dataset_lists_known():
    with pytest.raises(ValueError, match="mnist.*cifar10"):
        hdata.load("imagenet")


def test_subset_is_stratified_and_reproducible(mnist):
    a = mnist.subset(1000, 200, seed=3)
    b = mnist.subset(1000, 200, seed=3)
    c = mnist.subset(1000, 200, seed=4)
    assert len(a.train_y) == 1000 and len(a.test_y) == 200
    assert torch.equal(a.train_x, b.train_x) and not torch.equal(a.train_x, c.train_x)
    expected = torch.tensor(MNIST_TRAIN, dtype=torch.float) * 1000 / 60000
    assert (torch.tensor(counts(a.train_y), dtype=torch.float) - expected).abs().max() <= 1


def test_stratified_indices_exact_size_and_unique():
    y = torch.tensor([0] * 7 + [1] * 2 + [2] * 91)
    idx = hdata.stratified_indices(y, 10, seed=0)
    assert len(idx) == 10 and len(set(idx.tolist())) == 10
    assert counts(y[idx], 3) == [1, 0, 9] or counts(y[idx], 3) == [1, 1, 8]
    with pytest.raises(ValueError):
        hdata.stratified_indices(y, 0)


def test_augment_keeps_shape_is_seeded_and_is_a_shifted_window():
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    a1 = hdata.augment(x, 4, True, torch.Generator().manual_seed(0))
    a2 = hdata.augment(x, 4, True, torch.Generator().manual_seed(0))
    a3 = hdata.augment(x, 4, True, torch.Generator().manual_seed(1))
    assert a1.shape == x.shape and a1.dtype == torch.uint8
    assert torch.equal(a1, a2) and not torch.equal(a1, a3)
    # every augmented image is a (possibly flipped) window of the zero-padded original
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(len(x)):
        windows = [padded[i, :, dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
        assert any(torch.equal(a1[i], w) or torch.equal(a1[i], w.flip(-1)) for w in windows)


def test_flip_only_flips_about_half():
    x = torch.arange(64 * 4, dtype=torch.float).view(64, 1, 2, 2).to(torch.uint8)
    out = hdata.augment(x, pad=0, flip=True, generator=torch.Generator().manual_seed(0))
    flipped = [torch.equal(out[i], x[i].flip(-1)) for i in range(64)]
    assert 16 < sum(flipped) < 48
    assert all(f or torch.equal(out[i], x[i]) for i, f in enumerate(flipped))


def test_batches_normalize_and_cover_the_split():
    s = hdata.load("synthetic")
    seen = 0
    for xb, yb in hdata.batches(s.train_x, s.train_y, 100, s.mean, s.std):
        assert xb.dtype == torch.float32 and xb.shape[1:] == (1, 16, 16)
        seen += len(yb)
    assert seen == 512
    xb, _ = next(hdata.batches(s.train_x, s.train_y, 512, s.mean, s.std))
    assert torch.allclose(xb, (s.train_x.float() / 255 - 0.5) / 0.25)


def test_missing_dataset_names_files_and_folders(tmp_path, monkeypatch):
    monkeypatch.setenv("HGSR_CACHE", str(tmp_path / "cache"))
    with pytest.raises(hdata.DatasetNotFound) as e:
        hdata.load("mnist", root=tmp_path / "empty", download=False)
    msg = str(e.value)
    assert "MNIST/raw/train-images-idx3-ubyte.gz" in msg and str(tmp_path / "empty") in msg


def test_corrupt_archive_is_detected_and_not_cached(tmp_path, monkeypatch, mnist):
    src = hdata.archive_roots()[0] / "MNIST" / "raw"
    if not src.exists():
        pytest.skip(f"no MNIST archives under {src}")
    root = tmp_path / "root" / "MNIST" / "raw"
    shutil.copytree(src, root)
    blob = bytearray((root / "t10k-labels-idx1-ubyte.gz").read_bytes())
    blob[100] ^= 0xFF
    (root / "t10k-labels-idx1-ubyte.gz").write_bytes(bytes(blob))
    monkeypatch.setenv("HGSR_CACHE", str(tmp_path / "cache"))
    with pytest.raises(hdata.CorruptArchive, match="t10k-labels"):
        hdata.load("mnist", root=tmp_path / "root", download=False)
    assert not (tmp_path / "cache" / "mnist.pt").exists()


def test_tensor_cache_roundtrip(tmp_path, monkeypatch, mnist):
    src = hdata.archive_roots()[0]
    if not (src / "MNIST").exists():
        pytest.skip(f"no MNIST archives under {src}")
    monkeypatch.setenv("HGSR_CACHE", str(tmp_path / "cache"))
    first = hdata.load("mnist", root=src, download=False)
    assert (tmp_path / "cache" / "mnist.pt").exists()
    (tmp_path / "cache" / "MNIST").rename(tmp_path / "cache" / "moved")  # second load needs no archive
    second = hdata.load("mnist", root=tmp_path / "nowhere", download=False)
    assert torch.equal(first.train_x, second.train_x) and torch.equal(first.test_y, second.test_y)



def test_concurrent_unpacking_of_one_archive(tmp_path, monkeypatch):
    """Sweep workers on a fresh machine unpack the same archive at once: with both writers held in the
    middle of their copy (a barrier), each must write its own temporary file, both succeed, the target
    is whole and no temporary file is left behind."""
    import gzip
    import threading

    payload = bytes(range(256)) * 4000
    archive = tmp_path / "blob.gz"
    archive.write_bytes(gzip.compress(payload))
    barrier = threading.Barrier(2, timeout=30)
    copy = shutil.copyfileobj

    def copy_in_step(src, dst):
        copy(src, dst)
        barrier.wait()   # both writers have written; neither has renamed yet

    monkeypatch.setattr(hdata.shutil, "copyfileobj", copy_in_step)
    errors = []

    def unpack():
        try:
            hdata._gunzip(archive)
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=unpack) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert (tmp_path / "blob").read_bytes() == payload
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob", "blob.gz"]


def test_linking_an_archive_another_process_linked_first(tmp_path):
    """Two sweep workers on a fresh machine both see the archive missing from the cache and link it: the
    second finds the first one's link in place (FileExistsError) and keeps it instead of failing."""
    src = tmp_path / "shared" / "blob.gz"
    src.parent.mkdir()
    src.write_bytes(b"archive bytes")
    target = tmp_path / "cache" / "blob.gz"
    target.parent.mkdir()
    hdata._link_or_copy(src, target)     # the first worker
    hdata._link_or_copy(src, target)     # the second, a moment later
    assert target.is_symlink() and target.resolve() == src.resolve()
    assert sorted(p.name for p in target.parent.iterdir()) == ["blob.gz"]


def test_copying_an_archive_where_links_are_refused(tmp_path, monkeypatch):
    """Where the filesystem refuses symlinks the archive is copied whole through a temporary file, and a
    copy already in place (another worker's) is kept."""
    src = tmp_path / "blob.gz"
    src.write_bytes(b"archive bytes" * 1000)
    target = tmp_path / "cache" / "blob.gz"
    target.parent.mkdir()

    def refuse(self, *a, **k):
        if self.exists():
            raise FileExistsError(str(self))
        raise PermissionError("symlinks not allowed here")

    monkeypatch.setattr(Path, "symlink_to", refuse)
    hdata._link_or_copy(src, target)
    assert not target.is_symlink() and target.read_bytes() == src.read_bytes()
    hdata._link_or_copy(src, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["blob.gz"]


def test_file_digest_matches_hashlib_over_several_chunks(tmp_path):
    import hashlib

    from hgsr.io import file_digest

    blob = bytes(range(256)) * (3 * (1 << 22) // 256 + 7)   # three 4 MiB chunks and a partial one
    path = tmp_path / "blob.bin"
    path.write_bytes(blob)
    assert file_digest(path) == hashlib.sha256(blob).hexdigest()
    assert file_digest(path, "md5") == hashlib.md5(blob).hexdigest()


def test_environment_sets_for_the_block_and_restores_after(monkeypatch):
    from hgsr.io import environment
    monkeypatch.setenv("HGSR_T_SET", "old")
    monkeypatch.delenv("HGSR_T_NEW", raising=False)
    monkeypatch.delenv("HGSR_T_INSIDE", raising=False)
    with pytest.raises(RuntimeError):
        with environment({"HGSR_T_SET": "new", "HGSR_T_NEW": "1"}, restore=["HGSR_T_INSIDE"]):
            assert os.environ["HGSR_T_SET"] == "new" and os.environ["HGSR_T_NEW"] == "1"
            os.environ["HGSR_T_INSIDE"] = "set by something inside"
            raise RuntimeError("the block fails")
    assert os.environ["HGSR_T_SET"] == "old"
    assert "HGSR_T_NEW" not in os.environ and "HGSR_T_INSIDE" not in os.environ
