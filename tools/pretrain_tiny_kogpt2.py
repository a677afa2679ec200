"""Pretrain the small Korean GPT-2 bundled with the course (models/kogpt2-tiny).

Three stages, each skipped when its output already exists, so a rerun resumes:
  1. a byte-level BPE tokenizer with KoGPT2's special tokens (``</s>`` = bos = eos);
  2. the corpus encoded once to a uint16 token stream, documents separated by ``</s>``;
  3. GPT2LMHeadModel pretraining from scratch on random windows, half of which start at a
     document boundary (``</s>`` at position 0, as when a review is scored), short windows
     first and full-length ones at the end (so every position up to ``n_positions`` is trained),
     bf16 autocast on CPU, AdamW, warmup + cosine decay to zero. A checkpoint (model, optimizer,
     step, RNG) is written every ``--save_every`` steps and the model is exported with
     ``save_pretrained`` (safetensors) at the same time.

Run it in the background and follow the log:
    nohup python tools/pretrain_tiny_kogpt2.py > work/pretrain.log 2>&1 &
    python tools/pretrain_tiny_kogpt2.py --help
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, HfArgumentParser, PreTrainedTokenizerFast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kogpt2_course.lm.special_tokens import EOS_TOKEN, SPECIAL_TOKENS_IN_ID_ORDER, TOKENIZER_KWARGS  # noqa: E402


@dataclass
class PretrainArguments:
    corpus: str = field(default="../shared/data/reviews/pretrain.txt",
                        metadata={"help": "One document (review) per line, UTF-8."})
    output_dir: str = field(default="models/kogpt2-tiny",
                            metadata={"help": "Where the Hugging Face model + tokenizer are saved."})
    work_dir: str = field(default="work/pretrain",
                          metadata={"help": "Token cache and resumable checkpoint (not committed)."})
    vocab_size: int = field(default=8000, metadata={"help": "BPE vocabulary size."})
    n_positions: int = field(default=256, metadata={"help": "Context length (>= 256: prompt + 200 tokens)."})
    n_layer: int = field(default=6, metadata={"help": "Transformer blocks."})
    n_embd: int = field(default=256, metadata={"help": "Hidden size."})
    n_head: int = field(default=4, metadata={"help": "Attention heads."})
    batch_size: int = field(default=8, metadata={"help": "Full-length windows per optimizer step (short windows: the same tokens per step)."})
    short_window: int = field(default=64, metadata={"help": "Window length for the first part of training (reviews are short; cheaper)."})
    long_window_from: float = field(default=0.8, metadata={"help": "Fraction of training after which windows are n_positions long, so every position is trained. Late enough to be cheap, early enough that the learning rate is still ~10% of its peak (at 0.9 with decay to zero, positions 64-255 stayed ~0.2 nats/token worse)."})
    total_tokens: int = field(default=20_000_000, metadata={"help": "Training budget in tokens (used when time_budget_minutes is 0)."})
    time_budget_minutes: float = field(default=118.0, metadata={"help": "If > 0, the schedule runs on wall-clock time: warmup, cosine decay and the switch to long windows follow elapsed/budget, and training stops at the budget (elapsed time survives resumes)."})
    learning_rate: float = field(default=3e-3, metadata={"help": "Peak learning rate (AdamW)."})
    min_lr_ratio: float = field(default=0.0, metadata={"help": "Final learning rate as a fraction of the peak."})
    warmup_steps: int = field(default=500, metadata={"help": "Linear warmup steps."})
    align_to_documents: float = field(default=0.5, metadata={"help": "Fraction of windows that start at a document boundary (</s> at position 0, as in evaluation); the rest start anywhere, so prompts without a leading </s> (how students call KoGPT2) stay in distribution. 1.0 makes such prompts much worse."})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW weight decay (matrices only)."})
    val_docs: int = field(default=300, metadata={"help": "Last N corpus lines kept out of training for validation loss."})
    log_every: int = field(default=200, metadata={"help": "Steps between log lines."})
    save_every: int = field(default=1000, metadata={"help": "Steps between checkpoints and model exports."})
    bf16: bool = field(default=True, metadata={"help": "bf16 autocast on CPU (AMX makes it ~2x faster)."})
    compile: bool = field(default=True, metadata={"help": "torch.compile the training forward/backward (one compile per window length, ~30 s each; ~1.6x faster on this CPU)."})
    compile_mode: str = field(default="max-autotune", metadata={"help": "torch.compile mode ('default' or 'max-autotune': AMX GEMM templates, ~10% faster here)."})
    threads: int = field(default=0, metadata={"help": "torch threads (0 = all cores)."})
    seed: int = field(default=42, metadata={"help": "Random seed."})
    max_minutes: float = field(default=0.0, metadata={"help": "Stop (after a checkpoint) once this many minutes pass; 0 = no limit. Rerun to resume."})


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.strip() for line in f if line.strip()]


def train_tokenizer(docs: list[str], args: PretrainArguments, out: Path) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=args.vocab_size,
        special_tokens=SPECIAL_TOKENS_IN_ID_ORDER,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=args.n_positions, **TOKENIZER_KWARGS)
    fast.save_pretrained(out)
    return fast


def encode_corpus(docs: list[str], tokenizer: PreTrainedTokenizerFast, path: Path) -> np.ndarray:
    eos = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    stream: list[int] = []
    for start in range(0, len(docs), 10_000):
        for ids in tokenizer(docs[start:start + 10_000])["input_ids"]:
            stream.append(eos)
            stream.extend(ids)
    stream.append(eos)
    arr = np.asarray(stream, dtype=np.uint16)
    np.save(path, arr)
    return arr


def lr_at(step: int, progress: float, args: PretrainArguments) -> float:
    if step < args.warmup_steps:
        return args.learning_rate * (step + 1) / args.warmup_steps
    progress = min(1.0, progress)
    cosine = 0.5 * (1 + math.cos(math.pi * progress))
    return args.learning_rate * (args.min_lr_ratio + (1 - args.min_lr_ratio) * cosine)


def batch_of_windows(stream: torch.Tensor, doc_starts: torch.Tensor, aligned: float, batch: int, length: int,
                     gen: torch.Generator) -> torch.Tensor:
    """``batch`` windows of ``length`` tokens; a fraction ``aligned`` of them begin at a document start."""
    anywhere = torch.randint(0, len(stream) - length, (batch,), generator=gen)
    at_doc = doc_starts[torch.randint(0, len(doc_starts), (batch,), generator=gen)]
    use_doc = torch.rand(batch, generator=gen) < aligned
    picked = torch.where(use_doc, at_doc, anywhere).clamp(max=len(stream) - length)
    return torch.stack([stream[s:s + length] for s in picked.tolist()]).long()


@torch.no_grad()
def validation_losses(model, stream: torch.Tensor, args: PretrainArguments) -> torch.Tensor:
    """Mean loss (nats) at each position of full-length windows of the validation stream."""
    model.eval()
    n = (len(stream) - 1) // args.n_positions
    total = torch.zeros(args.n_positions - 1)
    for i in range(0, n, args.batch_size):
        x = torch.stack([stream[j * args.n_positions:(j + 1) * args.n_positions]
                         for j in range(i, min(n, i + args.batch_size))]).long()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            logits = model(input_ids=x).logits
        nll = torch.nn.functional.cross_entropy(
            logits[:, :-1].float().transpose(1, 2), x[:, 1:], reduction="none")
        total += nll.sum(0)
    model.train()
    return total / n


def describe_validation(model, stream: torch.Tensor, args: PretrainArguments) -> str:
    """'val loss X nats/token' plus the mean over each quarter of the positions (late ones must be trained)."""
    per_position = validation_losses(model, stream, args)
    quarters = " / ".join(f"{q.mean().item():.3f}" for q in per_position.chunk(4))
    return f"val loss {per_position.mean().item():.4f} nats/token (by position quarter: {quarters})"


def main() -> None:
    (args,) = HfArgumentParser(PretrainArguments).parse_args_into_dataclasses()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out, work = Path(args.output_dir), Path(args.work_dir)
    out.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    log(f"args: {asdict(args)}")

    # 1. tokenizer
    docs = read_lines(args.corpus)
    train_docs, val_docs = docs[:-args.val_docs], docs[-args.val_docs:]
    if (out / "tokenizer.json").exists():
        tokenizer = PreTrainedTokenizerFast.from_pretrained(out, **TOKENIZER_KWARGS)
        log(f"tokenizer loaded from {out} (vocab {len(tokenizer)})")
    else:
        t0 = time.time()
        tokenizer = train_tokenizer(train_docs, args, out)
        log(f"tokenizer trained in {time.time() - t0:.0f}s (vocab {len(tokenizer)})")

    # 2. token streams
    cache_train, cache_val = work / "train_ids.npy", work / "val_ids.npy"
    if cache_train.exists() and cache_val.exists():
        train_arr, val_arr = np.load(cache_train), np.load(cache_val)
    else:
        t0 = time.time()
        train_arr = encode_corpus(train_docs, tokenizer, cache_train)
        val_arr = encode_corpus(val_docs, tokenizer, cache_val)
        n_chars = sum(len(d) + 1 for d in train_docs)
        log(f"encoded {len(train_arr):,} tokens in {time.time() - t0:.0f}s "
            f"({n_chars / len(train_arr):.2f} chars/token)")
    train_stream, val_stream = torch.from_numpy(train_arr.astype(np.int32)), torch.from_numpy(val_arr.astype(np.int32))
    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    doc_starts = (train_stream[:-1] == eos_id).nonzero().squeeze(1)

    # 3. model
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=args.n_positions, n_embd=args.n_embd,
        n_layer=args.n_layer, n_head=args.n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=tokenizer.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.learning_rate, betas=(0.9, 0.95), fused=True,
    )
    train_model = torch.compile(model, dynamic=False, mode=args.compile_mode) if args.compile else model
    tokens_per_step = args.batch_size * args.n_positions
    total_steps = max(1, args.total_tokens // tokens_per_step)
    gen = torch.Generator().manual_seed(args.seed)
    step, elapsed_before = 0, 0.0
    ckpt_path = work / "checkpoint.pt"
    if ckpt_path.exists():
        ckpt = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        step, elapsed_before = ckpt["step"], ckpt.get("elapsed", 0.0)
        log(f"resumed from {ckpt_path} at step {step} ({elapsed_before / 60:.1f} min done)")
    n_params = sum(p.numel() for p in model.parameters())
    budget = (f"{args.time_budget_minutes} minutes" if args.time_budget_minutes > 0
              else f"{total_steps} steps")
    log(f"model: {n_params / 1e6:.2f}M parameters, {tokens_per_step} tokens/step, budget {budget}")

    started = time.time()

    def elapsed() -> float:
        return elapsed_before + time.time() - started

    def progress() -> float:
        if args.time_budget_minutes > 0:
            return elapsed() / (args.time_budget_minutes * 60)
        return step / total_steps

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "generator": gen.get_state(), "step": step, "elapsed": elapsed()}, tmp)
        os.replace(tmp, ckpt_path)
        model.generation_config.bos_token_id = eos_id
        model.generation_config.eos_token_id = eos_id
        model.generation_config.pad_token_id = tokenizer.pad_token_id
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)

    stop_requested: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.append(signum))
    signal.signal(signal.SIGINT, lambda signum, frame: stop_requested.append(signum))

    model.train()
    loss_sum, loss_n, start_step, start_progress = 0.0, 0, step, progress()
    while progress() < 1.0:
        if stop_requested:
            save()
            log(f"stopped by signal at step {step}; checkpoint saved — rerun the same command to resume")
            return
        frac = progress()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, frac, args)
        length = args.n_positions if frac >= args.long_window_from else args.short_window
        x = batch_of_windows(train_stream, doc_starts, args.align_to_documents, tokens_per_step // length, length, gen)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            loss = train_model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        loss_sum += loss.item()
        loss_n += 1
        if step % args.log_every == 0:
            run_time = time.time() - started
            rate = (step - start_step) * tokens_per_step / run_time
            remaining = (1.0 - progress()) * run_time / max(1e-9, progress() - start_progress)
            log(f"step {step} window {length} loss {loss_sum / loss_n:.3f} lr {lr_at(step, progress(), args):.2e} "
                f"{rate:,.0f} tok/s progress {100 * progress():.1f}% elapsed {elapsed() / 60:.1f}m ETA {remaining / 60:.1f}m")
            loss_sum, loss_n = 0.0, 0
        if step % args.save_every == 0:
            save()
            log(f"checkpoint + export at step {step}; {describe_validation(model, val_stream, args)}")
        if args.max_minutes and (time.time() - started) / 60 > args.max_minutes:
            save()
            log(f"time limit reached at step {step}; rerun the same command to resume")
            return
    save()
    log(f"final export at step {step}; {describe_validation(model, val_stream, args)}")
    log("done")


if __name__ == "__main__":
    main()
