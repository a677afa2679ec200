"""``get_trainer(args)``: a Lightning 2.x ``Trainer`` for fine-tuning (ratsnlp's ``nlpbook.get_trainer``).

- ``accelerator="auto"``, ``devices="auto"``, ``strategy="auto"``: CPU here; one GPU, or several
  GPUs with Lightning's own DDP strategy where present (nothing home-made);
- ``ModelCheckpoint``: keeps the ``args.save_top_k`` best checkpoints by ``val_loss`` (file names
  carry the value) plus ``last.ckpt``, and ``interrupted.ckpt`` when a run is stopped by Ctrl+C or
  an error (``OnExceptionCheckpoint``); ``resume_checkpoint_path(args)`` returns the newer of the two
  so ``trainer.fit(..., ckpt_path=...)`` continues where the previous run stopped;
- a tqdm progress bar, a CSV log in ``<downstream_model_dir>/logs``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from kogpt2_course.nlpbook.checkpoints import last_checkpoint_path

CHECKPOINT_FILENAME = "{epoch}-{step}-{val_loss:.4f}"
INTERRUPTED_NAME = "interrupted"


def _monitor(args) -> tuple[str, str]:
    """'min val_loss' -> ('min', 'val_loss'); 'val_loss' -> ('min', 'val_loss')."""
    parts = args.monitor.split()
    return (parts[0], parts[1]) if len(parts) == 2 else ("min", parts[0])


def checkpoint_callback(args) -> ModelCheckpoint:
    mode, metric = _monitor(args)
    return ModelCheckpoint(dirpath=args.downstream_model_dir, filename=CHECKPOINT_FILENAME, monitor=metric,
                           mode=mode, save_top_k=args.save_top_k, save_last=True)


def get_trainer(args, **overrides) -> L.Trainer:
    """A Trainer for ``args`` (GenerationTrainArguments); keyword ``overrides`` go to ``L.Trainer``."""
    # On a CPU laptop, data loading in the main process (cpu_workers=0) is intended, not a bottleneck.
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    interval = args.val_check_interval
    options = dict(
        accelerator="auto", devices="auto", strategy="auto",
        max_epochs=args.epochs,
        precision="16-mixed" if args.fp16 else "32-true",
        callbacks=[checkpoint_callback(args),
                   # Ctrl+C (or any error) mid-epoch writes interrupted.ckpt, so a rerun resumes from there
                   # (Lightning deletes that file again when a run ends normally)
                   OnExceptionCheckpoint(dirpath=args.downstream_model_dir, filename=INTERRUPTED_NAME)],
        logger=CSVLogger(save_dir=args.downstream_model_dir, name="logs"),
        default_root_dir=args.downstream_model_dir,
        val_check_interval=int(interval) if float(interval) > 1 else float(interval),
        log_every_n_steps=args.log_every_n_steps,
        num_sanity_val_steps=0,
        enable_model_summary=False,
    )
    options.update(overrides)
    if options.get("enable_progress_bar", True):
        options["callbacks"] = [*options["callbacks"], TQDMProgressBar(refresh_rate=1)]
    return L.Trainer(**options)


def resume_checkpoint_path(args, verbose: bool = True) -> str | None:
    """The newest of ``last.ckpt`` / ``interrupted.ckpt`` in ``args.downstream_model_dir`` when
    ``args.resume``, else None."""
    folder = Path(args.downstream_model_dir)
    candidates = [p for p in (last_checkpoint_path(folder), folder / f"{INTERRUPTED_NAME}.ckpt") if p and p.exists()]
    path = max(candidates, key=lambda p: p.stat().st_mtime) if args.resume and candidates else None
    if verbose:
        if path:
            print(f"[이어서 학습] {path}에서 이어서 학습합니다 (처음부터 하려면 --no_resume).", flush=True)
        else:
            print("[새로 학습] 이어서 학습할 체크포인트가 없어 처음부터 학습합니다.", flush=True)
    return str(path) if path else None


def remove_checkpoints(args) -> int:
    """Delete the ``*.ckpt`` files of ``args.downstream_model_dir`` (a fresh run must not mix with
    an older run's best checkpoint). Returns how many were deleted."""
    paths = list(Path(args.downstream_model_dir).glob("*.ckpt"))
    for path in paths:
        path.unlink()
    return len(paths)


def get_evaluator() -> L.Trainer:
    """A quiet one-device Trainer for ``trainer.validate`` (no checkpoints, no logs, no progress bar)."""
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    return L.Trainer(accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False)
