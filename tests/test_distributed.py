"""Data-parallel training really happens: one 2-process job on the CPU (gloo), launched with torchrun.

``tests/distributed_probe.py`` trains the bundled model in two processes along Step 4's path (Lightning,
``get_trainer`` with ``accelerator="cpu", devices=2, strategy="ddp"``, then a resumed run), Step 7's
(the Hugging Face ``Trainer`` under torchrun) and Step 6's solution-only ``ddp`` command
(``DistributedDataParallel`` + ``DistributedSampler``). Here we check, for each: both ranks end with
identical weights (so the gradients were all-reduced), they differ from the start (something was
learned), and in every epoch the two ranks saw disjoint halves that together cover the data; for
Lightning also that only rank 0 wrote checkpoints and that the resumed run went on from them.

One subprocess for all three (each process imports torch once); marked ``distributed`` and left out of
the plain ``pytest`` run for time (pytest.ini); ``.ci/run`` runs it with ``pytest -m distributed``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kogpt2_course.style.corpus import SAMPLE_PATH

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "distributed_probe.py"
EXAMPLES, BATCH, WORLD = 16, 2, 2  # as in the probe

pytestmark = [pytest.mark.distributed, pytest.mark.solution_only]


def halves(seen: list[int], epochs: int) -> list[list[int]]:
    """A rank's reads in order, cut into its epochs (EXAMPLES / WORLD each)."""
    per_epoch = EXAMPLES // WORLD
    assert len(seen) == epochs * per_epoch, f"한 프로세스가 읽은 예제 수 {len(seen)}개, 기대 {epochs} × {per_epoch}개"
    return [seen[i * per_epoch:(i + 1) * per_epoch] for i in range(epochs)]


def check_split(name: str, seen0: list[int], seen1: list[int], epochs: int, count: int = EXAMPLES) -> None:
    for epoch, (part0, part1) in enumerate(zip(halves(seen0, epochs), halves(seen1, epochs))):
        assert not set(part0) & set(part1), f"{name} 에폭 {epoch}: 두 프로세스가 같은 예제를 학습했습니다 {sorted(set(part0) & set(part1))}"
        assert sorted(part0 + part1) == list(range(count)), f"{name} 에폭 {epoch}: 두 프로세스가 나눠 본 예제가 전체가 아닙니다"


@pytest.mark.timeout(600)  # 29 s on the 2 cores beside a running pretraining job; minutes on a busier machine
def test_two_cpu_processes_train_data_parallel(tmp_path):
    rows = SAMPLE_PATH.read_text(encoding="utf-8").splitlines()[:EXAMPLES + 1]  # header + 16 sentences
    csv_path = tmp_path / "style.csv"
    csv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(WORLD),
               str(PROBE), str(tmp_path), str(csv_path)]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, f"2-프로세스 학습이 실패했습니다:\n{(done.stdout + done.stderr)[-4000:]}"
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text(encoding="utf-8")) for r in range(WORLD)]
    assert [r["rank"] for r in ranks] == [0, 1]

    # Step 4: Lightning DDP, one epoch, then resumed from last.ckpt for a second one
    first = [r["lightning"]["run1"] for r in ranks]
    second = [r["lightning"]["run2"] for r in ranks]
    steps_per_epoch = EXAMPLES // (WORLD * BATCH)
    assert [run["world_size"] for run in first] == [WORLD, WORLD]
    assert [run["is_global_zero"] for run in first] == [True, False]
    assert first[0]["train_sampler"] == "DistributedSamplerWrapper"  # Lightning wrapped Step 4's LengthGroupedSampler
    assert first[0]["weights"] == first[1]["weights"] != ranks[0]["lightning"]["initial"], "Lightning: 에폭 1 뒤 가중치"
    assert second[0]["weights"] == second[1]["weights"] != first[0]["weights"], "Lightning: 이어서 학습한 뒤 가중치"
    check_split("Lightning 첫 실행", first[0]["seen"], first[1]["seen"], 1)
    check_split("Lightning 이어서 학습", second[0]["seen"], second[1]["seen"], 1)
    assert [run["global_step"] for run in first] == [steps_per_epoch] * WORLD
    assert [run["global_step"] for run in second] == [2 * steps_per_epoch] * WORLD  # went on from step 4
    assert first[1]["saved"] == [] and second[1]["saved"] == [], "1번 프로세스가 체크포인트를 썼습니다"
    assert "last.ckpt" in first[0]["saved"] and "last.ckpt" in second[0]["saved"]
    assert sum(name != "last.ckpt" for name in first[0]["saved"]) == 1  # the best-by-val_loss one
    files = sorted(p.name for p in (tmp_path / "lightning").glob("*.ckpt"))
    assert "last.ckpt" in files and len(files) == 2, files  # save_top_k=1: the best one and last.ckpt

    # Step 7: the Hugging Face Trainer under torchrun (use_cpu -> gloo), two epochs
    trainer = [r["trainer"] for r in ranks]
    assert [t["world_size"] for t in trainer] == [WORLD, WORLD] and trainer[0]["backend"] == "gloo"
    assert trainer[0]["weights"] == trainer[1]["weights"], "Trainer: 두 프로세스의 가중치가 다릅니다"
    assert trainer[0]["global_step"] == 2 * steps_per_epoch
    check_split("Trainer", trainer[0]["seen"], trainer[1]["seen"], 2)

    # Step 6 (solution-only ddp command): DDP + DistributedSampler with set_epoch
    step6 = [r["step6"] for r in ranks]
    assert step6[0]["weights"] == step6[1]["weights"], "Step 6 DDP: 두 프로세스의 가중치가 다릅니다"
    for epoch in range(2):
        part0, part1 = step6[0]["seen"][epoch], step6[1]["seen"][epoch]
        assert not set(part0) & set(part1) and sorted(part0 + part1) == list(range(EXAMPLES)), f"Step 6 에폭 {epoch}"
    assert step6[0]["seen"][0] != step6[0]["seen"][1], "Step 6: set_epoch가 없으면 에폭마다 순서가 같습니다"
    assert "config.json" in step6[0]["saved"]  # rank 0 saved the model
