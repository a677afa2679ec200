"""Step 6 checkpoints: everything needed to continue training exactly where it stopped.

A checkpoint is one ``torch.save`` file (``torch.load(..., weights_only=True)`` reads it, so loading
never runs pickled code) holding

- ``model``, ``optimizer``, ``scheduler``: their ``state_dict()`` — AdamW's moment estimates and the
  schedule's position included (the sibling project saved the weights and restarted the optimizer
  and the schedule, and parsed the step number out of the file name);
- ``state``: the epoch, the global step, the position inside the epoch (how many of its batches are
  already trained), the loss history and the bf16 decision (:class:`TrainState`);
- ``rng``: the states of Python's, NumPy's and torch's random-number generators (CUDA too), so dropout
  goes on with the same masks;
- ``meta``: the model name and what fixes the data order (seed, batch size, number of examples).

The order of the batches of epoch ``e`` comes from a generator seeded with ``(seed, e)``
(:func:`data_order_generator`), so the position inside the epoch is enough to skip exactly the batches
already trained. Files are written to a temporary name and renamed, so a Ctrl+C while saving never
leaves a broken checkpoint. File names (``KoGPT2_checkpoint_<step>.tar``, as in the sibling project)
are for people only; nothing is parsed out of them.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from kogpt2_course.cli.arguments import UserError
from kogpt2_course.lm.resolution import ENV_VAR, HUB_MODEL_NAME, hub_model_in_cache, resolve_model_name

CHECKPOINT_PREFIX = "KoGPT2_checkpoint_"
CHECKPOINT_SUFFIX = ".tar"
FORMAT = "kogpt2-course-step6/1"


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be used (missing, unreadable, or for another model); Korean message."""


@dataclass
class TrainState:
    """Where training stands. ``batch_in_epoch``: batches of epoch ``epoch`` already trained."""

    epoch: int = 0
    step: int = 0
    batch_in_epoch: int = 0
    history: list[tuple[int, float]] = field(default_factory=list)  # (step, loss) of every step
    bf16: bool | None = None  # None: not decided yet

    def to_dict(self) -> dict:
        data = asdict(self)
        data["history"] = [[int(s), float(x)] for s, x in self.history]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TrainState":
        return cls(epoch=int(data["epoch"]), step=int(data["step"]), batch_in_epoch=int(data["batch_in_epoch"]),
                   history=[(int(s), float(x)) for s, x in data.get("history", [])], bf16=data.get("bf16"))


def data_order_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator that shuffles epoch ``epoch``: the same (seed, epoch) always gives the same order."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))


def capture_rng() -> dict:
    np_state = np.random.get_state()
    states = {"python": random.getstate(), "torch": torch.get_rng_state(),
              "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]), float(np_state[4])]}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng(states: dict) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    torch.set_rng_state(states["torch"])
    name, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def checkpoint_path(folder: str | Path, step: int) -> Path:
    return Path(folder) / f"{CHECKPOINT_PREFIX}{step}{CHECKPOINT_SUFFIX}"


def save_checkpoint(folder: str | Path, model, optimizer, scheduler, state: TrainState, meta: dict) -> Path:
    """Write ``<folder>/KoGPT2_checkpoint_<step>.tar`` atomically and return its path."""
    path = checkpoint_path(folder, state.step)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
               "scheduler": scheduler.state_dict(), "state": state.to_dict(), "rng": capture_rng(),
               "meta": dict(meta)}
    tmp = path.with_name(path.name + ".part")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def list_checkpoints(folder: str | Path) -> list[Path]:
    """This folder's checkpoints, oldest first (by the time they were written)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob(f"{CHECKPOINT_PREFIX}*{CHECKPOINT_SUFFIX}") if p.is_file()]
    return sorted(files, key=lambda p: p.stat().st_mtime_ns)


def latest_checkpoint(folder: str | Path) -> Path | None:
    files = list_checkpoints(folder)
    return files[-1] if files else None


def prune_checkpoints(folder: str | Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest checkpoints (``keep <= 0``: delete none). Returns the deleted."""
    files = list_checkpoints(folder)
    doomed = files[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (Korean :class:`CheckpointError` otherwise)."""
    path = Path(path)
    if path.is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise CheckpointError(f"{path} 폴더에 체크포인트({CHECKPOINT_PREFIX}*{CHECKPOINT_SUFFIX})가 없습니다.")
        path = found
    if not path.exists():
        raise CheckpointError(f"체크포인트 파일이 없습니다: {path} (--load_path를 확인하세요)")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated file, another format, a pickle with code in it, ...
        raise CheckpointError(f"{path}: 체크포인트를 읽을 수 없습니다 ({type(exc).__name__}). "
                              f"이 강의의 Step 6이 저장한 파일인지 확인하세요.") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise CheckpointError(f"{path}: Step 6 체크포인트 형식이 아닙니다 "
                              f"(이 강의의 step6 train이 저장한 .tar 파일이어야 합니다).")
    checkpoint["path"] = str(path)
    return checkpoint


def load_model_weights(checkpoint: dict, model) -> None:
    """Put the checkpoint's weights into ``model``; a model of another shape is a Korean error."""
    try:
        model.load_state_dict(checkpoint["model"])
    except RuntimeError:
        trained_with = checkpoint.get("meta", {}).get("model_name", "?")
        raise CheckpointError(f"{checkpoint.get('path', '체크포인트')}: 이 모델과 가중치 모양이 맞지 않습니다. "
                              f"이 체크포인트는 '{trained_with}' 모델로 학습했습니다 — --model로 그 모델을 고르세요.") from None


def restore_training(checkpoint: dict, model, optimizer, scheduler) -> TrainState:
    """Load weights, optimizer and scheduler states and the random-number generators; return the state.

    Call it last, right before the training loop: anything that draws random numbers after it
    would shift the generators away from where the interrupted run stood.
    """
    load_model_weights(checkpoint, model)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    restore_rng(checkpoint["rng"])
    return TrainState.from_dict(checkpoint["state"])


def order_mismatches(checkpoint: dict, meta: dict) -> list[str]:
    """What differs between the checkpoint's data order settings and this run's (Korean, for a warning)."""
    names = {"seed": "seed", "batch_size": "배치 크기", "num_examples": "예제 수"}
    saved = checkpoint.get("meta", {})
    return [f"{label} {saved.get(key)} → {meta.get(key)}" for key, label in names.items()
            if key in saved and saved.get(key) != meta.get(key)]


class StopFlag:
    requested = False


@contextmanager
def stop_on_interrupt(message: str = "\n[Ctrl+C] 이번 스텝을 마치고 체크포인트를 저장한 뒤 멈춥니다 "
                                     "(바로 멈추려면 한 번 더 누르세요)."):
    """First Ctrl+C: set ``flag.requested`` (the loop saves and stops after the current step);
    a second Ctrl+C raises ``KeyboardInterrupt`` at once. Outside the main thread: a plain flag."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def on_interrupt(signum, frame):
        if flag.requested:
            raise KeyboardInterrupt
        flag.requested = True
        print(message, flush=True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def checkpoint_model_name(choice: str | None, checkpoint: dict | None) -> str:
    """The model to build for a checkpoint: ``--model`` (or ``KOGPT2_MODEL``) when given; otherwise the model the
    checkpoint was trained from, when it is available here (a local folder, or KoGPT2 in the cache); otherwise the
    automatic choice of every step (:func:`~kogpt2_course.lm.resolution.resolve_model_name`)."""
    if choice or os.environ.get(ENV_VAR) or checkpoint is None:
        return resolve_model_name(choice)
    saved = checkpoint.get("meta", {}).get("model_name")
    if saved and (Path(saved).is_dir() or (saved == HUB_MODEL_NAME and hub_model_in_cache())):
        print(f"[모델 선택] {saved} — 체크포인트를 학습한 모델입니다.", flush=True)
        return saved
    return resolve_model_name(None)
