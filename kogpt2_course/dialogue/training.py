"""Helpers around the Hugging Face ``Trainer`` for Step 7: precision flags, checkpoints, the
notebook's label bug (for the comparison), saved-model folders and loss curves.

Facts of the pinned versions (transformers 5.23, accelerate 1.15) these helpers rely on:

- ``TrainingArguments`` has no ``overwrite_output_dir`` any more (passing it is a ``TypeError``);
  the Trainer never refuses a non-empty ``output_dir`` and never resumes by itself: resuming is
  ``trainer.train(resume_from_checkpoint=...)``.
- ``fp16=True`` on a CPU is accepted but does nothing: accelerate enables fp16 autocast only on an
  accelerator (``native_amp`` stays False on a CPU), so training silently runs in fp32.
  ``bf16=True`` on a CPU does autocast to bfloat16; it is fast only where the CPU has bfloat16
  instructions (AVX512-BF16 or AMX), otherwise it is emulated and slower than fp32.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from kogpt2_course.plots.figure import plt, save_figure

CHECKPOINT_PREFIX = "checkpoint-"


def cpu_supports_bf16() -> bool:
    """True when the CPU has bfloat16 instructions (AVX512-BF16 or AMX), so bf16 autocast is fast."""
    checks = [getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    return any(check() for check in checks if check is not None)


def resolve_precision(fp16: bool = False, bf16: bool = False, cuda: bool | None = None) -> tuple[dict, str]:
    """``TrainingArguments`` keywords for the requested precision, and a Korean line saying what happens.

    On a GPU ``--fp16``/``--bf16`` are passed on as they are. On a CPU ``--fp16`` becomes bf16
    autocast when the CPU has bfloat16 instructions, and fp32 otherwise (see the module docstring);
    ``use_cpu=True`` is set so that nothing tries to use an accelerator that is not there.
    """
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if cuda:
        if fp16 and bf16:
            raise ValueError("--fp16과 --bf16은 함께 쓸 수 없습니다")
        chosen = "fp16 혼합 정밀도" if fp16 else "bf16 혼합 정밀도" if bf16 else "fp32"
        return {"fp16": fp16, "bf16": bf16}, f"[정밀도] GPU에서 {chosen}로 학습합니다."
    if not (fp16 or bf16):
        return {"use_cpu": True}, "[정밀도] CPU에서 fp32로 학습합니다."
    asked = "--fp16" if fp16 else "--bf16"
    if cpu_supports_bf16():
        why = ("CPU에는 fp16 혼합 정밀도가 없어(transformers 5와 accelerate는 CPU에서 fp16=True를 조용히 무시하고 "
               "fp32로 학습합니다) 대신 " if fp16 else "")
        return ({"use_cpu": True, "bf16": True},
                f"[정밀도] {asked}: {why}bf16 자동 혼합 정밀도(autocast)로 학습합니다 — 이 CPU에는 bfloat16 명령어"
                f"(AVX512-BF16/AMX)가 있어 fp32보다 빠릅니다.")
    return ({"use_cpu": True},
            f"[정밀도] {asked}: 이 CPU에는 fp16 혼합 정밀도도, bfloat16 명령어도 없어 fp32로 학습합니다 "
            f"(bf16을 흉내 내면 fp32보다 느립니다).")


def last_checkpoint(output_dir: str | Path) -> str | None:
    """The newest ``checkpoint-N`` folder in ``output_dir`` (None when there is none or no folder)."""
    from transformers.trainer_utils import get_last_checkpoint

    folder = Path(output_dir)
    return get_last_checkpoint(str(folder)) if folder.is_dir() else None


def remove_checkpoints(output_dir: str | Path) -> int:
    """Delete the ``checkpoint-N`` folders of ``output_dir`` (a fresh run); returns how many."""
    folder = Path(output_dir)
    paths = [p for p in folder.glob(f"{CHECKPOINT_PREFIX}*") if p.is_dir()] if folder.is_dir() else []
    for path in paths:
        shutil.rmtree(path)
    return len(paths)


def saved_model_dir(path: str | Path) -> str | None:
    """A folder ``from_pretrained`` can load: ``path`` itself when it holds ``config.json``, else its
    newest checkpoint (a run stopped before its final save); None when neither."""
    folder = Path(path)
    if (folder / "config.json").is_file():
        return str(folder)
    checkpoint = last_checkpoint(folder)
    return checkpoint if checkpoint and (Path(checkpoint) / "config.json").is_file() else None


class PadInLossCollator:
    """The notebook's bug, kept for the comparison: after padding and masking, ``labels`` is
    overwritten with ``input_ids``, so the prompt *and every padding token* count in the loss.

    Wraps a collator (the notebook padded to ``max_length``); only ``labels`` changes.
    """

    def __init__(self, collator):
        self.collator = collator

    def __call__(self, features):
        batch = self.collator(features)
        batch["labels"] = batch["input_ids"].clone()
        return batch


def training_losses(log_history: list[dict]) -> list[tuple[int, float]]:
    """``(step, loss)`` of every training log entry in ``trainer.state.log_history``."""
    return [(int(e["step"]), float(e["loss"])) for e in log_history if "loss" in e and "step" in e]


def eval_losses(log_history: list[dict]) -> list[tuple[int, float]]:
    """``(step, eval_loss)`` of every evaluation entry in ``trainer.state.log_history``."""
    return [(int(e["step"]), float(e["eval_loss"])) for e in log_history if "eval_loss" in e and "step" in e]


def plot_loss_curves(histories: dict[str, list[dict]], filename: str, output_dir: str | Path = "outputs",
                     title: str = "Step 7 손실 곡선") -> Path:
    """One line per run from ``trainer.state.log_history`` (training loss; evaluation loss as dots)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for (name, history), color in zip(histories.items(), plt.rcParams["axes.prop_cycle"].by_key()["color"]):
        train = training_losses(history)
        if train:
            ax.plot(*zip(*train), color=color, label=f"{name} — 학습 손실")
        evals = eval_losses(history)
        if evals:
            ax.plot(*zip(*evals), "o--", color=color, label=f"{name} — 검증 손실 eval_loss")
    ax.set_xlabel("학습 스텝")
    ax.set_ylabel("손실 (레이블 토큰당 음의 로그 가능도)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, filename, output_dir)
