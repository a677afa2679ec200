"""Step 8's training machinery around peft: loading any causal LM, the arguments, the Lightning task
with parameter groups, the end-of-epoch hook, and loading a saved adapter for chatting.

Training reuses Step 4's :class:`~kogpt2_course.nlpbook.generation.task.GenerationTask` (AdamW, linear
schedule, ``val_loss`` per predicted token — here the response tokens only, because every other label
is -100) and :func:`~kogpt2_course.nlpbook.trainer.get_trainer` (CPU/GPU, precision, progress bar),
without Lightning's full checkpoints: after every epoch the caller saves only the LoRA adapter.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch
from torch.utils.data import DataLoader
from transformers import AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, PreTrainedTokenizerFast

from kogpt2_course.cli.arguments import UserError
from kogpt2_course.lm.resolution import check_model
from kogpt2_course.lm.special_tokens import SPECIAL_TOKENS_IN_ID_ORDER, TOKENIZER_KWARGS
from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments, _f
from kogpt2_course.nlpbook.generation.dataset import IGNORE_INDEX
from kogpt2_course.nlpbook.generation.task import GenerationTask
from kogpt2_course.nlpbook.trainer import get_evaluator, get_trainer

PRECISIONS = ("32-true", "bf16-mixed", "16-mixed")
# peft 0.21 still calls a transformers 5 property that warns about its own deprecation on every get_peft_model
warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*", category=FutureWarning)


@dataclass
class LoraTrainArguments(GenerationTrainArguments):
    """Step 4's training arguments with the defaults of the LoRA recipe, plus LoRA's own."""

    downstream_model_dir: str = _f("checkpoints/step8-lora-dialogue", "에폭마다 LoRA 어댑터를 저장할 폴더")
    max_seq_length: int = _f(256, "예제 하나(대화 기록 + 응답)의 최대 토큰 수: 넘으면 오래된 발화부터 뺌")
    batch_size: int = _f(1, "배치 크기")
    learning_rate: float = _f(1e-4, "학습률 (AdamW)")
    weight_decay: float = _f(0.01, "AdamW의 weight decay (bias와 LayerNorm에는 0)")
    warmup_ratio: float = _f(0.0, "학습률을 0에서 올리는 스텝 비율 (그 뒤 선형 감소)")
    epochs: int = _f(2, "에폭 수 (에폭마다 어댑터 저장 + 검증 대화 한 개 생성)")
    lora_rank: int = _f(2, "LoRA 랭크 r: 어댑터 행렬 A(r×입력), B(출력×r)의 r")
    lora_alpha: float | None = _f(None, "LoRA 배율 분자 alpha (출력에 alpha/r을 곱함). 생략하면 2×랭크")
    lora_dropout: float = _f(0.05, "어댑터 입력에 거는 드롭아웃")
    lora_name: str = _f("lora", "어댑터 폴더 이름의 앞부분: {이름}_{랭크}_epoch{k}")
    max_history_turns: int = _f(4, "응답 앞 사람의 발화 말고도 넣을 이전 발화 수 (오래된 것부터 뺌)")
    precision: str = _f("32-true", f"Lightning 정밀도 {PRECISIONS}: GPU에서 큰 모델이면 bf16-mixed")

    @property
    def alpha(self) -> float:
        return float(self.lora_alpha) if self.lora_alpha is not None else 2.0 * self.lora_rank


def uses_kogpt2_tokens(tokenizer) -> bool:
    """True for KoGPT2 and the bundled model: all of KoGPT2's special tokens are in the vocabulary."""
    vocab = tokenizer.get_vocab()
    return all(token in vocab for token in SPECIAL_TOKENS_IN_ID_ORDER)


def load_causal_lm(model_name: str, dtype: torch.dtype | None = None):
    """``(model, tokenizer)`` of any causal LM on the hub or on disk.

    KoGPT2-style vocabularies get Step 1's tokenizer arguments (``</s>`` = bos = eos, ``<pad>``);
    other tokenizers keep theirs (pad = eos when they have none). Padding is on the right for training.
    """
    tokenizer = AutoTokenizer.from_pretrained(model_name)
    if uses_kogpt2_tokens(tokenizer):
        tokenizer = PreTrainedTokenizerFast.from_pretrained(model_name, **TOKENIZER_KWARGS)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    model = AutoModelForCausalLM.from_pretrained(model_name, dtype=dtype)
    return model, tokenizer


class DialogueTask(GenerationTask):
    """GenerationTask whose AdamW gets ``parameter_groups(model, weight_decay)`` (e.g. no decay on biases/LayerNorm)."""

    def __init__(self, model, args, parameter_groups):
        super().__init__(model, args)
        self.parameter_groups = parameter_groups

    def optimizer_parameters(self):
        return self.parameter_groups(self.model, self.args.weight_decay)


class EpochEnd(L.Callback):
    """Calls ``fn(epoch, val_loss)`` after every training epoch (epoch counts from 1; after that epoch's validation),
    on rank 0 only when several processes train (one adapter folder, one sample per epoch)."""

    def __init__(self, fn):
        self.fn = fn

    def on_train_epoch_end(self, trainer, pl_module):
        if not trainer.is_global_zero:
            return
        val_loss = trainer.callback_metrics.get("val_loss")
        self.fn(trainer.current_epoch + 1, None if val_loss is None else float(val_loss))


def _as_lists(features: dict) -> dict:
    return {key: torch.as_tensor(value).tolist() for key, value in features.items()}


def dialogue_loader(features, tokenizer, batch_size: int, shuffle: bool = False) -> DataLoader:
    """Batches of ``{"input_ids", "labels"}`` features padded to the longest one (labels padded with -100)."""
    collate = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=IGNORE_INDEX)
    return DataLoader([_as_lists(f) for f in features], batch_size=batch_size, shuffle=shuffle, collate_fn=collate)


def fit_dialogue_model(model, tokenizer, train_features, val_features, args: LoraTrainArguments, parameter_groups,
                       on_epoch_end=None, **trainer_overrides) -> DialogueTask:
    """Train ``model`` (a peft model or a plain one) with Lightning; returns the task (``task.history`` has the losses)."""
    task = DialogueTask(model, args, parameter_groups)
    options = dict(callbacks=[EpochEnd(on_epoch_end)] if on_epoch_end else [], enable_checkpointing=False,
                   logger=False, precision=args.precision)
    options.update(trainer_overrides)
    trainer = get_trainer(args, **options)
    trainer.fit(task, train_dataloaders=dialogue_loader(train_features, tokenizer, args.batch_size, shuffle=True),
                val_dataloaders=dialogue_loader(val_features, tokenizer, args.batch_size))
    return task


def latest_adapter(folder) -> Path | None:
    """The adapter folder (``*_epoch<k>`` with ``adapter_config.json``) written last in ``folder``."""
    found = [p.parent for p in Path(folder).glob("*_epoch*/adapter_config.json")]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def load_adapter_model(adapter_dir, model_name: str | None = None):
    """``(peft_model, tokenizer)``: the base model (``model_name``, or the one the adapter was trained on) + the adapter."""
    from peft import PeftConfig, PeftModel

    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise UserError(f"LoRA 어댑터가 없습니다: {adapter_dir} (adapter_config.json이 있는 폴더를 주세요)")
    base_name = model_name
    if base_name is None:
        base_name = PeftConfig.from_pretrained(str(adapter_dir)).base_model_name_or_path
        check_model(base_name, f"어댑터({adapter_dir})가 기억하는 base 모델")
    base, tokenizer = load_causal_lm(base_name)
    return PeftModel.from_pretrained(base, str(adapter_dir)).eval(), tokenizer


def validation_loss(model, tokenizer, features, args: LoraTrainArguments) -> float:
    """Mean negative log-likelihood per response token of ``features`` (Step 4's ``val_loss``)."""
    loader = dialogue_loader(features, tokenizer, args.batch_size)
    return float(get_evaluator().validate(GenerationTask(model, args), dataloaders=loader, verbose=False)[0]["val_loss"])
