"""Find and load Step 4's Lightning checkpoints (also what Step 5 uses to serve the model).

Checkpoint files (written by :func:`kogpt2_course.nlpbook.trainer.get_trainer`'s ``ModelCheckpoint``)::

    <downstream_model_dir>/epoch=2-step=150-val_loss=2.3456.ckpt   best by val_loss
    <downstream_model_dir>/last.ckpt                                 the latest state (to resume)

A checkpoint is a dict; ``checkpoint["state_dict"]`` holds the GenerationTask's weights, whose
keys are the GPT2LMHeadModel's keys with the prefix ``"model."`` (the task keeps the model in
``self.model``). :func:`load_finetuned_model` strips the prefix and loads them into a
``GPT2LMHeadModel`` built from the pre-trained model (config, generation config).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from kogpt2_course.cli.arguments import UserError

LAST_CHECKPOINT_NAME = "last.ckpt"
_VAL_LOSS = re.compile(r"val_loss=(?P<value>[0-9]+(?:\.[0-9]+)?)")


def checkpoint_val_loss(path: str | Path) -> float | None:
    """val_loss written in a checkpoint's file name, or None."""
    match = _VAL_LOSS.search(Path(path).name)
    return float(match["value"]) if match else None


def best_checkpoint_path(folder: str | Path) -> Path | None:
    """The ``*.ckpt`` in ``folder`` with the lowest val_loss in its name (newest wins ties); None if none."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    scored = [(checkpoint_val_loss(p), -p.stat().st_mtime, p) for p in folder.glob("*.ckpt")]
    scored = [entry for entry in scored if entry[0] is not None]
    return min(scored)[2] if scored else None


def last_checkpoint_path(folder: str | Path) -> Path | None:
    path = Path(folder) / LAST_CHECKPOINT_NAME
    return path if path.exists() else None


def load_checkpoint(path: str | Path) -> dict:
    """``torch.load`` a Lightning checkpoint on current torch (``weights_only=True`` is the default
    since torch 2.6; our checkpoints hold only tensors and plain Python values, so it works)."""
    return torch.load(path, map_location="cpu", weights_only=True)


class ResumeError(UserError):
    """A checkpoint that cannot be resumed with these arguments; the message (Korean) says what to do.

    A :class:`~kogpt2_course.cli.arguments.UserError`: ``run_main`` prints it as one Korean line, exit code 2."""


@dataclass(frozen=True)
class CheckpointProgress:
    """How far the training run that wrote a checkpoint had got."""

    global_step: int          # optimizer steps taken
    epochs_done: int          # epochs whose training part had finished
    planned_epochs: int | None  # the run's --epochs (``hyper_parameters["epochs"]``), if recorded
    has_optimizer_state: bool  # False for a checkpoint written before any optimizer step


def checkpoint_progress(path: str | Path) -> CheckpointProgress:
    """Read a Lightning checkpoint's progress without loading its tensors into memory (``mmap``)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    epoch_progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_progress", {})
    optimizer_states = checkpoint.get("optimizer_states") or []
    return CheckpointProgress(
        global_step=int(checkpoint.get("global_step", 0)),
        epochs_done=int(epoch_progress.get("current", {}).get("processed", checkpoint.get("epoch", 0))),
        planned_epochs=(checkpoint.get("hyper_parameters") or {}).get("epochs"),
        has_optimizer_state=any(state.get("state") for state in optimizer_states),
    )


def model_state_dict(checkpoint: dict, prefix: str = "model.") -> dict[str, torch.Tensor]:
    """The GPT2LMHeadModel state dict inside a GenerationTask checkpoint."""
    return {key[len(prefix):]: value for key, value in checkpoint["state_dict"].items() if key.startswith(prefix)}


def load_finetuned_model(deploy_args=None, *, checkpoint_path: str | Path | None = None,
                         pretrained_model_name: str | None = None):
    """Return the fine-tuned ``GPT2LMHeadModel`` (eval mode) of a Step 4 run.

    ``load_finetuned_model(GenerationDeployArguments(pretrained_model_name=..., downstream_model_dir=...))``
    loads the best checkpoint by val_loss; or pass ``checkpoint_path=`` and ``pretrained_model_name=``.
    """
    from transformers import GPT2LMHeadModel

    if deploy_args is not None:
        checkpoint_path = checkpoint_path or deploy_args.downstream_model_checkpoint_fpath
        pretrained_model_name = pretrained_model_name or deploy_args.pretrained_model_name
        if checkpoint_path is None:
            raise FileNotFoundError(f"{deploy_args.downstream_model_dir}에 val_loss가 적힌 체크포인트가 없습니다. "
                                    f"먼저 Step 4(step4_model_training.py)로 미세 조정하세요.")
    if checkpoint_path is None or pretrained_model_name is None:
        raise ValueError("deploy_args 또는 checkpoint_path와 pretrained_model_name을 주세요")
    model = GPT2LMHeadModel.from_pretrained(pretrained_model_name)
    model.load_state_dict(model_state_dict(load_checkpoint(checkpoint_path)))
    return model.eval()
