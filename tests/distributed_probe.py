"""One 2-process job on the CPU (gloo) for tests/test_distributed.py, launched as
``python -m torch.distributed.run --standalone --nproc_per_node 2 tests/distributed_probe.py OUT CSV``.

Each process (rank) trains the bundled model three times, as the course's steps do it, and writes
``OUT/rank<r>.json``: which training examples it saw (in order), a hash of its final weights, and
what was saved.

1. Step 4's path: ``get_trainer(GenerationTrainArguments(accelerator="cpu", devices=2, strategy="ddp"))``
   fitting a ``GenerationTask`` on a length-grouped loader (Step 4's ``LengthGroupedSampler``), one
   epoch, then a second run resumed from ``last.ckpt`` for a second epoch; a ``CheckpointIO`` plugin
   records every checkpoint file this rank writes.
2. Step 7's path: the Hugging Face ``Trainer`` with ``use_cpu=True``, which reads torchrun's
   environment variables (two epochs).
3. Step 6's solution-only ``ddp`` command (``DistributedDataParallel`` + ``DistributedSampler``).

Not a test module itself (pytest collects ``test_*.py`` only); it needs no data outside the repository.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import torch
from torch.utils.data import Dataset

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = 16  # divisible by 2 processes × batch 2, so no rank gets a repeated example
BATCH = 2


class RecordingDataset(Dataset):
    """Token sequences of different lengths; remembers every index read (in this process)."""

    def __init__(self, count: int, seed: int, pad_token_id: int):
        generator = torch.Generator().manual_seed(seed)
        lengths = torch.randint(4, 13, (count,), generator=generator).tolist()
        # ids 7.. avoid the special tokens (0-6); the same sequences on every rank (same seed)
        self.sequences = [torch.randint(7, 500, (n,), generator=generator) for n in lengths]
        self.pad_token_id = pad_token_id
        self.seen: list[int] = []

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> dict:
        self.seen.append(int(index))
        ids = self.sequences[index]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids.clone(),
                "pad_token_id": self.pad_token_id}

    def lengths(self) -> list[int]:
        return [len(seq) for seq in self.sequences]


def weights_hash(model) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def lightning_job(out: Path) -> dict:
    from lightning.pytorch.plugins.io import TorchCheckpointIO
    from torch.utils.data import DataLoader, SequentialSampler
    from transformers import GPT2LMHeadModel
    from transformers.trainer_pt_utils import LengthGroupedSampler

    from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR
    from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments
    from kogpt2_course.nlpbook.generation.dataset import GenerationCollator
    from kogpt2_course.nlpbook.generation.task import GenerationTask
    from kogpt2_course.nlpbook.trainer import get_trainer, resume_checkpoint_path

    class RecordingCheckpointIO(TorchCheckpointIO):
        saved: list[str] = []

        def save_checkpoint(self, checkpoint, path, storage_options=None):
            self.saved.append(Path(path).name)
            super().save_checkpoint(checkpoint, path, storage_options=storage_options)

    # dropout as in the real KoGPT2: on the CPU it draws from torch's global generator a number of times that
    # depends on the batch shape, which differs between the ranks (dynamic padding)
    model = GPT2LMHeadModel.from_pretrained(BUNDLED_MODEL_DIR, resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)
    initial = weights_hash(model)
    train = RecordingDataset(EXAMPLES, seed=1, pad_token_id=model.config.pad_token_id)
    val = RecordingDataset(4, seed=2, pad_token_id=model.config.pad_token_id)
    collate = GenerationCollator(model.config.pad_token_id)

    def loaders():  # Step 4's loaders (TODO 4-3): length-grouped for training, in order for validation
        return (DataLoader(train, batch_size=BATCH, sampler=LengthGroupedSampler(BATCH, lengths=train.lengths()),
                           collate_fn=collate),
                DataLoader(val, batch_size=BATCH, sampler=SequentialSampler(val), collate_fn=collate))

    result: dict = {"initial": initial}
    for epochs in (1, 2):  # a first run of one epoch, then the same command with --epochs 2 resumes it
        args = GenerationTrainArguments(pretrained_model_name=str(BUNDLED_MODEL_DIR), downstream_model_dir=str(out / "lightning"),
                                        batch_size=BATCH, learning_rate=1e-3, epochs=epochs, accelerator="cpu",
                                        devices="2", strategy="ddp", log_every_n_steps=1)
        checkpoint_io = RecordingCheckpointIO()
        trainer = get_trainer(args, plugins=[checkpoint_io], enable_progress_bar=False)
        task = GenerationTask(model, args)
        train_loader, val_loader = loaders()
        before = len(train.seen)
        trainer.fit(task, train_dataloaders=train_loader, val_dataloaders=val_loader,
                    ckpt_path=resume_checkpoint_path(args, verbose=False))
        result[f"run{epochs}"] = {"seen": train.seen[before:], "global_step": trainer.global_step,
                                  "weights": weights_hash(model), "saved": list(checkpoint_io.saved),
                                  "world_size": trainer.world_size, "is_global_zero": trainer.is_global_zero,
                                  "train_sampler": type(trainer.train_dataloader.sampler).__name__}
        checkpoint_io.saved.clear()
    return result


def trainer_job(out: Path) -> dict:
    from transformers import GPT2LMHeadModel, Trainer, TrainingArguments

    from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR
    from kogpt2_course.nlpbook.generation.dataset import GenerationCollator

    model = GPT2LMHeadModel.from_pretrained(BUNDLED_MODEL_DIR)
    train = RecordingDataset(EXAMPLES, seed=3, pad_token_id=model.config.pad_token_id)
    args = TrainingArguments(output_dir=str(out / "trainer"), per_device_train_batch_size=BATCH, num_train_epochs=2,
                             learning_rate=1e-3, use_cpu=True, report_to="none", save_strategy="no",
                             logging_strategy="no", disable_tqdm=True, seed=42)
    trainer = Trainer(model=model, args=args, train_dataset=train,
                      data_collator=GenerationCollator(model.config.pad_token_id))
    trainer.train()
    return {"seen": train.seen, "global_step": trainer.state.global_step, "weights": weights_hash(model),
            "world_size": args.world_size, "backend": str(torch.distributed.get_backend())}


def step6_job(out: Path, csv_path: str) -> dict:
    spec = importlib.util.spec_from_file_location("step6_probe", ROOT / "solutions" / "step6_solution.py")
    step6 = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = step6  # dataclasses look their module up there
    spec.loader.exec_module(step6)
    cli = step6.parse_args(["ddp", "--data_file_path", csv_path, "--model", "bundled", "--epoch", "2",
                            "--batch_size", str(BATCH), "--log_every", "0", "--save_path", str(out / "step6")])
    run = step6.run_ddp(cli)
    return {"seen": run.seen, "steps": run.steps, "weights": weights_hash(run.model), "world_size": run.world_size,
            "saved": sorted(p.name for p in (out / "step6" / "ddp-model").glob("*"))}


def main(out: str, csv_path: str) -> None:
    out_dir = Path(out)
    torch.manual_seed(0)
    result = {"lightning": lightning_job(out_dir)}
    rank = torch.distributed.get_rank()
    result["rank"] = rank
    result["trainer"] = trainer_job(out_dir)
    result["step6"] = step6_job(out_dir, csv_path)
    (out_dir / f"rank{rank}.json").write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:3])
