"""The one place that quiets the libraries' English notices during fine-tuning (Step 4, the book's API).

What is silenced, and why each one is harmless here:

- Lightning's INFO lines (``GPU available: ...``, ``TPU available: ...``, the "💡 Tip" about litlogger,
  ``Trainer(val_check_interval=1.0) was configured ...``, ``Loading train_dataloader ...``,
  ``Trainer.fit stopped: max_epochs reached``, ``Detected KeyboardInterrupt ...``): the course prints
  its own Korean lines for the device (:func:`kogpt2_course.nlpbook.trainer.get_trainer`), for
  resuming and for Ctrl+C. Lightning's warnings (``rank_zero_warn``) still show, except:
- known harmless warnings, matched by their text (:data:`IGNORED_WARNINGS`);
- two transformers notices: ``loss_type=None ... Using the default loss: ForCausalLMLoss`` (GPT-2
  configs never set ``loss_type``; the default *is* the causal-LM loss) and "We strongly recommend
  passing in an attention_mask" (``generate`` feeds the finished sequences' ``<pad>`` tokens back
  without a mask; their outputs are discarded).

Every other warning and error still shows.
"""

from __future__ import annotations

import logging
import re
import warnings

LIGHTNING_INFO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")

# (regular expression of the message, why it is harmless here)
IGNORED_WARNINGS = [
    (r".*does not have many workers.*", "CPU 노트북에서는 메인 프로세스에서 데이터를 읽는 것(cpu_workers=0)이 의도"),
    (r".*isinstance\(treespec, LeafSpec\)` is deprecated.*", "Lightning 내부가 쓰는 PyTorch API의 폐기 예고"),
    (r"Checkpoint directory .* exists and is not empty.*", "이어서 학습하려고 같은 폴더를 쓰는 것이 의도"),
    (r"The number of training batches \(\d+\) is smaller than the logging interval.*", "작은 데이터에서는 정상"),
    (r"It is recommended to use `self.log\('val_loss', ..., sync_dist=True\)`.*",
     "여러 프로세스로 학습할 때: GenerationTask가 val_loss를 이미 모든 프로세스에서 합쳐 계산하므로 어디서나 같은 값"),
    (r"You're resuming from a checkpoint that ended before the epoch ended.*",
     "중단된 에폭을 이어 갈 때 나머지 배치를 새로 섞은 순서에서 가져온다는 뜻 — 한국어로 따로 알림"),
]
TRANSFORMERS_IGNORED = [
    r"`loss_type=None` was set in the config but it is unrecognized.*",
    r"We strongly recommend passing in an `attention_mask`.*",
]

class _DropMessages(logging.Filter):
    def __init__(self, patterns: list[str]):
        super().__init__()
        self.patterns = [re.compile(p, re.DOTALL) for p in patterns]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(p.match(message) for p in self.patterns)


def quiet_library_output() -> None:
    """Silence the notices listed in this module's docstring (safe to call again; this process only)."""
    for name in LIGHTNING_INFO_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for pattern, _why in IGNORED_WARNINGS:  # an identical filter is replaced, not added twice
        warnings.filterwarnings("ignore", message=pattern)
    transformers_logger = logging.getLogger("transformers.modeling_utils")
    if not any(isinstance(f, _DropMessages) for f in transformers_logger.filters):
        transformers_logger.addFilter(_DropMessages(TRANSFORMERS_IGNORED))
