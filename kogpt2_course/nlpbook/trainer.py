"""``get_trainer(args)``: a Lightning 2.x ``Trainer`` for fine-tuning (ratsnlp's ``nlpbook.get_trainer``).

- ``accelerator``, ``devices``, ``num_nodes``, ``strategy`` come from ``args`` (all ``"auto"``/1 by
  default: CPU here; one GPU, or every visible GPU with Lightning's own DDP strategy where there are
  several — nothing home-made); one Korean line says which. With several processes Lightning itself
  wraps the training sampler in a ``DistributedSamplerWrapper`` (each rank a slice of every epoch),
  all-reduces the gradients, writes checkpoints and the CSV log from rank 0 only
  (``tests/test_distributed.py`` checks this on 2 CPU processes); :class:`SameDataOrderOnEveryRank`
  keeps those slices a partition in every epoch;
- ``ModelCheckpoint``: keeps the ``args.save_top_k`` best checkpoints by ``val_loss`` (file names
  carry the value) plus ``last.ckpt``;
- :class:`InterruptCheckpoint`: Ctrl+C during ``fit`` writes ``interrupted.ckpt`` (only when this run
  took at least one training step, so it is always further along than ``last.ckpt``) and says in
  Korean that rerunning the same command resumes; the file is deleted when a later run finishes;
- :func:`resume_checkpoint_path` picks the furthest *usable* of ``last.ckpt`` / ``interrupted.ckpt``
  (by the training step stored inside, not by file time), deletes a stale ``interrupted.ckpt``, and
  refuses, in Korean, to resume a checkpoint that has done more epochs than ``args.epochs``
  (Lightning would stop with an English ``MisconfigurationException``);
- a tqdm progress bar, a CSV log in ``<downstream_model_dir>/logs``; the libraries' English notices
  are quieted (:mod:`kogpt2_course.nlpbook.quiet`).
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from kogpt2_course.cli.arguments import UserError
from kogpt2_course.nlpbook.checkpoints import ResumeError, checkpoint_progress, last_checkpoint_path
from kogpt2_course.nlpbook.quiet import quiet_library_output

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


class InterruptCheckpoint(Callback):
    """On Ctrl+C (or an error) during ``fit``: save ``<dirpath>/interrupted.ckpt`` and say how to resume.

    Nothing is saved when this run has not taken a training step yet (e.g. Ctrl+C while a
    checkpoint is being restored): such a file would look newer than ``last.ckpt`` while holding
    no more training, and an empty optimizer state. Other exceptions save nothing either: after an
    error the state may be broken, and ``last.ckpt`` is the last good one. When ``fit`` finishes
    normally the file is deleted (``last.ckpt`` is then the furthest state).
    """

    def __init__(self, dirpath: str | Path, filename: str = "interrupted"):
        self.path = Path(dirpath) / f"{filename}.ckpt"
        self._start_step: int | None = None

    def on_fit_start(self, trainer, pl_module) -> None:
        self._start_step = None

    def on_train_start(self, trainer, pl_module) -> None:
        self._start_step = trainer.global_step  # after a resumed checkpoint has been restored

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        # Saved only when this run has trained (an error while restoring a checkpoint saves nothing).
        advanced = self._start_step is not None and trainer.global_step > self._start_step
        if advanced:
            trainer.save_checkpoint(self.path)
        if not trainer.is_global_zero:
            return
        if isinstance(exception, KeyboardInterrupt):
            print(interrupt_message(trainer.global_step, self.path if advanced else None), flush=True)
        elif advanced:
            print(f"\n[중단] 학습 중 오류가 나서 학습 스텝 {trainer.global_step}까지의 상태를 {self.path}에 저장했습니다. "
                  "원인을 고친 뒤 같은 명령을 다시 실행하면 여기서 이어서 학습합니다.", flush=True)

    def on_fit_end(self, trainer, pl_module) -> None:
        if trainer.is_global_zero:
            self.path.unlink(missing_ok=True)


class SameDataOrderOnEveryRank(Callback):
    """With several processes: before each training epoch every rank takes rank 0's torch CPU random state.

    Lightning wraps a sampler it does not know (Step 4's ``LengthGroupedSampler``) in a
    ``DistributedSamplerWrapper``, which asks the sampler for its order on *every* rank and gives each rank
    its own positions of that order: a partition only when the order is the same everywhere. The sampler
    draws from torch's global generator, and on the CPU dropout draws from it too, a number of times that
    depends on the batch shape (different on each rank with dynamic padding), so from the second epoch on
    the ranks would shuffle differently and some examples would be trained twice, others not at all
    (``tests/test_distributed.py`` shows it). The hook runs before the epoch's sampler is iterated.
    """

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        if trainer.world_size > 1:
            torch.set_rng_state(trainer.strategy.broadcast(torch.get_rng_state(), src=0))


def interrupt_message(step: int, saved: Path | None) -> str:
    """The Korean line printed after Ctrl+C."""
    if saved is not None:
        return (f"\n[중단] Ctrl+C로 학습을 멈췄습니다. 학습 스텝 {step}까지의 상태를 {saved}에 저장했습니다. "
                f"같은 명령을 다시 실행하면 여기서 이어서 학습합니다 (처음부터 하려면 --no_resume).")
    return ("\n[중단] Ctrl+C로 학습을 멈췄습니다. 이번 실행에서는 아직 학습한 스텝이 없어 새 체크포인트를 저장하지 "
            "않았습니다. 같은 명령을 다시 실행하면 마지막 체크포인트(last.ckpt, 없으면 처음)부터 학습합니다 "
            "(처음부터 하려면 --no_resume).")


def device_description(trainer: L.Trainer) -> str:
    """'CPU', 'GPU(CUDA) 1개', 'CPU 프로세스 2개 × 노드 2대 (전략 DDP, 프로세스 모두 4개)' ... for the Korean device line."""
    name = type(trainer.accelerator).__name__.replace("Accelerator", "")
    label = {"CPU": "CPU", "CUDA": "GPU(CUDA)", "MPS": "Apple GPU(MPS)", "XLA": "TPU(XLA)"}.get(name, name)
    if trainer.world_size == 1:
        return label if name == "CPU" else f"{label} {trainer.num_devices}개"
    unit = "프로세스 " if name == "CPU" else ""
    nodes = f" × 노드 {trainer.num_nodes}대" if trainer.num_nodes > 1 else ""
    strategy = type(trainer.strategy).__name__.replace("Strategy", "")
    return f"{label} {unit}{trainer.num_devices}개{nodes} (전략 {strategy}, 프로세스 모두 {trainer.world_size}개)"


def engine_options(args) -> dict:
    """Lightning's ``accelerator``/``devices``/``num_nodes``/``strategy`` from ``args`` ("auto"/1 when absent:
    e.g. the book's code building its own arguments object)."""
    devices = getattr(args, "devices", "auto")
    if isinstance(devices, str) and devices.strip().isdigit():
        devices = int(devices)
    return dict(accelerator=getattr(args, "accelerator", "auto"), devices=devices,
                num_nodes=int(getattr(args, "num_nodes", 1)), strategy=getattr(args, "strategy", "auto"))


def get_trainer(args, **overrides) -> L.Trainer:
    """A Trainer for ``args`` (GenerationTrainArguments); keyword ``overrides`` go to ``L.Trainer``."""
    quiet_library_output()
    interval = args.val_check_interval
    options = dict(
        **engine_options(args),
        max_epochs=args.epochs,
        precision="16-mixed" if args.fp16 else "32-true",
        callbacks=[checkpoint_callback(args),
                   # Ctrl+C mid-epoch writes interrupted.ckpt, so a rerun resumes from there. Not Lightning's
                   # OnExceptionCheckpoint: it also saves after errors and before any step, and it makes
                   # fit(ckpt_path=None) resume silently from the newest file.
                   InterruptCheckpoint(args.downstream_model_dir, INTERRUPTED_NAME),
                   SameDataOrderOnEveryRank()],
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
    try:
        trainer = L.Trainer(**options)
    except (MisconfigurationException, ValueError, TypeError) as error:  # e.g. --accelerator gpu with no GPU
        engine = ", ".join(f"{key}={options[key]!r}" for key in ("accelerator", "devices", "num_nodes", "strategy"))
        raise UserError(f"Lightning이 이 장치 설정({engine})으로 트레이너를 만들지 못했습니다: {error} — "
                        f"--accelerator, --devices, --num_nodes, --strategy를 확인하세요 (모두 생략하면 'auto': "
                        f"GPU가 있으면 GPU, 없으면 CPU).") from error
    if trainer.is_global_zero:
        print(f"[장치] {device_description(trainer)}에서 학습합니다.", flush=True)
    return trainer


def resume_checkpoint_path(args, verbose: bool = True) -> str | None:
    """The checkpoint to resume from (for ``trainer.fit(..., ckpt_path=...)``), or None to start fresh.

    With ``args.resume``: the furthest (by training step) usable one of ``last.ckpt`` and
    ``interrupted.ckpt`` in ``args.downstream_model_dir``. A checkpoint without optimizer state or
    that cannot be read is skipped; an ``interrupted.ckpt`` that is not further than ``last.ckpt`` is
    deleted. Raises :class:`ResumeError` when the chosen checkpoint has finished more epochs than
    ``args.epochs``.
    """
    say = (lambda text: print(text, flush=True)) if verbose else (lambda text: None)
    if not args.resume:
        say("[새로 학습] resume=False(--no_resume)라 처음부터 학습합니다.")
        return None
    folder = Path(args.downstream_model_dir)
    interrupted = folder / f"{INTERRUPTED_NAME}.ckpt"
    usable = []
    for path in (last_checkpoint_path(folder), interrupted if interrupted.exists() else None):
        if path is None:
            continue
        try:
            progress = checkpoint_progress(path)
        except Exception as exc:  # a file cut short by a crash, not a checkpoint, ...
            say(f"[이어서 학습] {path}를 읽을 수 없어 건너뜁니다 ({type(exc).__name__}).")
            continue
        if not progress.has_optimizer_state:
            say(f"[이어서 학습] {path}에는 옵티마이저 상태가 없어(학습 스텝 전에 저장됨) 건너뜁니다.")
            continue
        usable.append((progress.global_step, path != interrupted, path, progress))
    if not usable:
        interrupted.unlink(missing_ok=True)
        say("[새로 학습] 이어서 학습할 체크포인트가 없어 처음부터 학습합니다.")
        return None
    _, _, path, progress = max(usable, key=lambda entry: entry[:2])  # ties: last.ckpt (a finished epoch)
    if path != interrupted and interrupted.exists():
        interrupted.unlink(missing_ok=True)
        say(f"[이어서 학습] {interrupted}는 last.ckpt보다 앞선 상태가 아니라 지웠습니다.")
    if progress.epochs_done > args.epochs:
        raise ResumeError(
            f"{path}는 이미 {progress.epochs_done} 에폭을 학습한 체크포인트인데, 에폭 수(--epochs)를 {args.epochs}(으)로 "
            f"주었습니다. 이미 한 학습을 되돌려 이어서 할 수는 없습니다. 더 학습하려면 --epochs를 "
            f"{progress.epochs_done + 1} 이상으로 주고, {args.epochs} 에폭으로 처음부터 다시 학습하려면 --no_resume을 "
            f"붙이세요 (이전 체크포인트는 지워집니다).")
    if progress.epochs_done == args.epochs:
        say(f"[이어서 학습] {path}는 이미 {args.epochs} 에폭을 모두 마친 체크포인트라 더 학습하지 않습니다 "
            f"(더 학습하려면 --epochs를 {args.epochs + 1} 이상으로, 처음부터는 --no_resume).")
    elif path == interrupted:
        say(f"[이어서 학습] Ctrl+C로 멈춘 {path}(학습 스텝 {progress.global_step})에서 이어서 학습합니다. 멈춘 에폭의 "
            f"남은 배치 수만큼을 새로 섞은 순서에서 가져오므로, 그 에폭에서는 몇몇 예제가 두 번 보이거나 빠질 수 "
            f"있습니다 (처음부터 하려면 --no_resume).")
    else:
        say(f"[이어서 학습] {path}(학습 스텝 {progress.global_step}, {progress.epochs_done} 에폭 완료)에서 이어서 "
            f"학습합니다 (처음부터 하려면 --no_resume).")
    return str(path)


def remove_checkpoints(args) -> int:
    """Delete the ``*.ckpt`` files of ``args.downstream_model_dir`` (a fresh run must not mix with
    an older run's best checkpoint). Returns how many were deleted."""
    paths = list(Path(args.downstream_model_dir).glob("*.ckpt"))
    for path in paths:
        path.unlink()
    return len(paths)


def get_evaluator() -> L.Trainer:
    """A quiet one-device Trainer for ``trainer.validate`` (no checkpoints, no logs, no progress bar)."""
    quiet_library_output()
    return L.Trainer(accelerator="auto", devices=1, logger=False, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False)
