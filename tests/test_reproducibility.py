"""One small config gives identical results in a fresh process and after other runs in this process;
every cache entry records the code it was made with, and the manifest names the entries that predate it."""
import json
import subprocess
import sys
import textwrap

import pytest
import torch

from hgsr import compact, experiments
from hgsr.suite import manifest

A = experiments.Config(dataset="synthetic", model="lenet5", model_kw={"widths": (4, 8, 16)}, train_subset=128,
                       test_subset=64, epochs=2, batch_size=32, lr=0.05, profile="smoke",
                       regularizer={"key": "hsr_gl", "lam": 1e-3, "grouping": "output"})
OTHER = A.replace(regularizer={"key": "l1", "lam": 1e-3}, seed=3)

SCRIPT = textwrap.dedent("""
    import json, torch
    torch.set_num_threads(1)
    from hgsr import compact, experiments
    cfg = experiments.Config(**json.loads(__import__("sys").argv[1]))
    r = experiments.run(cfg, progress=False)
    c = compact.compact_from_zeros(r, tol=1e-2, finetune_epochs=1)["summary"]
    print(json.dumps({"acc": r.metrics["test_acc"], "widths": list(c["widths"]), "ft": c["acc_finetuned"],
                      "w": float(sum(p.detach().double().abs().sum() for p in r.model.parameters()))}))
""")


def _fingerprint(r, c):
    return {"acc": r.metrics["test_acc"], "widths": list(c["widths"]), "ft": c["acc_finetuned"],
            "w": float(sum(p.detach().double().abs().sum() for p in r.model.parameters()))}


def test_fresh_process_equals_after_other_runs(tmp_path, monkeypatch):
    fields = {k: v for k, v in A.to_dict().items() if k not in ("init_from", "pretrained")}
    fresh = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(fields)], capture_output=True, text=True,
                           env={**__import__("os").environ, "HGSR_RUNS": str(tmp_path / "fresh"),
                                "OMP_NUM_THREADS": "1"}, check=True)
    monkeypatch.setenv("HGSR_RUNS", str(tmp_path / "here"))
    torch.set_num_threads(1)
    other = experiments.run(OTHER, progress=False)                      # something else first
    compact.compact_from_zeros(other, tol=1e-2, finetune_epochs=1)
    r = experiments.run(A, progress=False)
    c = compact.compact_from_zeros(r, tol=1e-2, finetune_epochs=1)["summary"]
    assert json.loads(fresh.stdout.strip().splitlines()[-1]) == _fingerprint(r, c)


def test_cache_entries_record_their_code_and_the_manifest_names_stale_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("HGSR_RUNS", str(tmp_path))
    r = experiments.run(A.replace(epochs=1), progress=False)
    meta = json.loads((r.path / "meta.json").read_text())
    assert meta["code"] == experiments.code_fingerprint() and meta["threads"] >= 1
    rep = manifest.cache_report(tmp_path)
    assert rep["entries"] == 1 and rep["stale"] == [] and rep["unknown"] == []
    meta["code"] = "0" * 16                                             # as if made by older code
    (r.path / "meta.json").write_text(json.dumps(meta))
    assert manifest.cache_report(tmp_path)["stale"] == [r.path.name]


def test_cache_entries_record_the_cpu_instruction_set_they_were_made_with(tmp_path, monkeypatch):
    monkeypatch.setenv("HGSR_RUNS", str(tmp_path))
    r = experiments.run(A.replace(epochs=1), progress=False)
    meta = json.loads((r.path / "meta.json").read_text())
    isa = torch.backends.cpu.get_cpu_capability()
    assert meta["cpu_capability"] == isa
    assert manifest.cache_report(tmp_path)["cpu_capabilities"] == [isa]
    del meta["cpu_capability"]                                          # an entry older than the record
    (r.path / "meta.json").write_text(json.dumps(meta))
    assert manifest.cache_report(tmp_path)["cpu_capabilities"] == ["unrecorded"]


ISAS = ("AVX2", "AVX512")   # the two instruction sets CI machines have


def another_isa(isa: str) -> str:
    """An instruction set that is not ``isa`` (the "other machine" of a test must differ from this one)."""
    return next(v for v in ISAS + ("DEFAULT",) if v != isa)


@pytest.fixture(params=ISAS)
def here_isa(request, monkeypatch):
    """Run the test as if this machine's torch used each instruction set in turn."""
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: request.param)
    return request.param


def test_another_isa_is_never_this_one():
    for isa in ISAS + ("DEFAULT", "VSX", "ZVECTOR"):
        assert another_isa(isa) != isa


def test_machine_differences_name_what_breaks_bit_for_bit_equality(here_isa):
    here = manifest.provenance()
    assert here["cpu_capability"] == here_isa and here["cpu_model"]
    assert manifest.machine_differences(here, here) == []
    other_isa = another_isa(here_isa)
    other = {**here, "cpu_capability": other_isa, "torch_threads": here["torch_threads"] + 1}
    diffs = manifest.machine_differences(other, here)
    assert diffs == [f"CPU instruction set used by torch: {other_isa} in the earlier run, {here_isa} on "
                     f"this machine", f"torch threads: {here['torch_threads'] + 1} in the earlier run, "
                     f"{here['torch_threads']} on this machine"]
    older = {k: v for k, v in here.items() if k not in ("cpu_capability", "cpu_model")}
    assert manifest.machine_differences(older, here) == [
        f"CPU instruction set used by torch: not recorded by the earlier run; this machine: {here_isa}",
        f"CPU: not recorded by the earlier run; this machine: {here['cpu_model']}"]


def test_differences_from_a_committed_manifest(tmp_path, here_isa):
    from hgsr.errors import CorruptFile

    assert manifest.differences_from_manifest(tmp_path, "smoke") == []          # no manifest yet
    path = manifest.update(tmp_path, "smoke", [{"notebook": "00_x", "seconds": 1.0}], {"00_x": []})
    assert manifest.differences_from_manifest(tmp_path, "smoke") == []          # made here
    m = json.loads(path.read_text())
    other_isa = another_isa(here_isa)
    path.write_text(json.dumps({**m, "cpu_capability": other_isa}))
    assert manifest.differences_from_manifest(tmp_path, "smoke") == [
        f"CPU instruction set used by torch: {other_isa} in the earlier run, {here_isa} on this machine"]
    assert manifest.differences_from_manifest(tmp_path, "default") == []        # another profile: not compared
    path.write_text("{truncated")
    with pytest.raises(CorruptFile, match=r"manifest.json is not valid JSON .*git checkout"):
        manifest.differences_from_manifest(tmp_path, "smoke")
