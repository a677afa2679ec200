"""``GenerationTask``: the LightningModule that fine-tunes a GPT-2 language model (ratsnlp's name).

- optimizer: ``torch.optim.AdamW``; schedule: linear warm-up then linear decay
  (``transformers.get_linear_schedule_with_warmup``), returned under the ``"lr_scheduler"`` key
  with ``interval="step"`` so Lightning really steps it every batch (ratsnlp returned it under a
  key Lightning ignores, so its learning rate never changed);
- logs ``loss`` (every step, progress bar), ``lr`` and ``val_loss`` = mean negative
  log-likelihood per real token of the validation set (padding excluded), so
  ``exp(val_loss)`` is the held-out perplexity;
- keeps the loss history of fitting in ``self.history`` and in its checkpoints (for the loss curve of a
  resumed run).
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass

import lightning as L
import torch
from lightning.pytorch.trainer.states import TrainerFn
from transformers import get_linear_schedule_with_warmup

from kogpt2_course.nlpbook.generation.dataset import IGNORE_INDEX


class GenerationTask(L.LightningModule):
    def __init__(self, model, args):
        super().__init__()
        self.model = model
        self.args = args
        self.save_hyperparameters(asdict(args) if is_dataclass(args) else dict(vars(args)), logger=False)
        self.history: dict[str, list[tuple[int, float]]] = {"loss": [], "val_loss": []}
        self._val_nll = 0.0
        self._val_tokens = 0

    def forward(self, **batch):
        return self.model(**batch)

    def on_fit_start(self):
        self.model.train()  # from_pretrained returns the model in eval mode (dropout off)

    def optimizer_parameters(self):
        """What AdamW optimizes: every parameter here; a subclass may return parameter groups instead."""
        return self.parameters()

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.optimizer_parameters(), lr=self.args.learning_rate,
                                      weight_decay=getattr(self.args, "weight_decay", 0.0))
        total_steps = max(1, int(self.trainer.estimated_stepping_batches))
        warmup_steps = int(getattr(self.args, "warmup_ratio", 0.0) * total_steps)
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, total_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def training_step(self, batch, batch_idx):
        loss = self.model(**batch).loss
        self.log("loss", loss, prog_bar=True, on_step=True, on_epoch=False)
        self.log("lr", self.optimizers().param_groups[0]["lr"], on_step=True, on_epoch=False)
        self.history["loss"].append((int(self.global_step), float(loss.detach())))
        return loss

    def on_validation_epoch_start(self):
        self._val_nll, self._val_tokens = 0.0, 0

    def validation_step(self, batch, batch_idx):
        loss = self.model(**batch).loss  # mean over the predicted (non -100) tokens of the batch
        tokens = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())  # the model shifts labels by one
        self._val_nll += float(loss) * tokens
        self._val_tokens += tokens
        return loss

    def on_validation_epoch_end(self):
        totals = torch.tensor([self._val_nll, float(self._val_tokens)], dtype=torch.float64, device=self.device)
        totals = self.trainer.strategy.reduce(totals, reduce_op="sum")  # sum over GPUs under DDP
        val_loss = (totals[0] / totals[1].clamp(min=1)).float()
        self.log("val_loss", val_loss, prog_bar=True)
        if self.trainer.state.fn == TrainerFn.FITTING and not self.trainer.sanity_checking:
            self.history["val_loss"].append((int(self.global_step), float(val_loss)))

    def on_save_checkpoint(self, checkpoint):
        checkpoint["loss_history"] = {k: [list(p) for p in v] for k, v in self.history.items()}

    def on_load_checkpoint(self, checkpoint):
        saved = checkpoint.get("loss_history")
        if saved:
            self.history = {k: [(int(s), float(x)) for s, x in v] for k, v in saved.items()}
