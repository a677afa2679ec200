"""Pretrain the small Korean GPT-2 bundled with the course (models/kogpt2-tiny).

Three stages, each skipped when its output already exists, so a rerun resumes:
  1. a KoGPT2-style tokenizer (BPE over characters, ``▁`` word marker, byte fallback) with KoGPT2's
     special tokens at KoGPT2's ids (``</s>`` = bos = eos);
  2. the corpus encoded once to a uint16 token stream, documents separated by ``</s>``;
  3. GPT2LMHeadModel pretraining from scratch on random windows, half of which start at a
     document boundary (``</s>`` at position 0, as when a review is scored), short windows
     first and full-length ones at the end (so every position up to ``n_positions`` is trained),
     bf16 autocast on CPU, AdamW, warmup + cosine decay to zero. A checkpoint (model, optimizer,
     step, RNG) is written every ``--save_every`` steps and the model is exported with
     ``save_pretrained`` (safetensors) at the same time.

Run it in the background and follow the log:
    mkdir -p work && nohup python tools/pretrain_tiny_kogpt2.py > work/pretrain.log 2>&1 &
    python tools/pretrain_tiny_kogpt2.py --help
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, HfArgumentParser, PreTrainedTokenizerFast

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kogpt2_course.cli.arguments import KoreanArgumentParser, UserError  # noqa: E402
from kogpt2_course.grading.script_runner import run_main  # noqa: E402
from kogpt2_course.lm.special_tokens import EOS_TOKEN, SPECIAL_TOKENS_IN_ID_ORDER, TOKENIZER_KWARGS, UNK_TOKEN  # noqa: E402
from kogpt2_course.lm.tokens import kogpt2_style_decoder  # noqa: E402


@dataclass
class PretrainArguments:
    corpus: str = field(default="../shared/data/reviews/pretrain.txt",
                        metadata={"help": "한 줄에 문서(리뷰) 하나인 UTF-8 말뭉치 파일"})
    output_dir: str = field(default="models/kogpt2-tiny",
                            metadata={"help": "Hugging Face 모델과 토크나이저를 저장할 폴더"})
    work_dir: str = field(default="work/pretrain",
                          metadata={"help": "토큰 캐시와 이어서 학습할 체크포인트를 두는 폴더 (커밋하지 않음)"})
    vocab_size: int = field(default=12000, metadata={"help": "어휘 크기 (특수 토큰 7개와 바이트 토큰 256개 포함)"})
    limit_alphabet: int = field(default=3000, metadata={"help": "기본 기호로 둘 가장 잦은 문자 수; 더 드문 문자는 UTF-8 바이트 토큰으로 씁니다 (byte fallback)"})
    n_positions: int = field(default=256, metadata={"help": "문맥 길이 (256 이상: 프롬프트 + 200 토큰)"})
    n_layer: int = field(default=6, metadata={"help": "트랜스포머 블록 수"})
    n_embd: int = field(default=256, metadata={"help": "은닉 크기"})
    n_head: int = field(default=4, metadata={"help": "어텐션 헤드 수"})
    batch_size: int = field(default=8, metadata={"help": "옵티마이저 스텝당 전체 길이 창의 수 (짧은 창이면 스텝당 토큰 수가 같도록)"})
    short_window: int = field(default=64, metadata={"help": "학습 앞부분의 창 길이 (리뷰는 짧으므로 더 싸게)"})
    long_window_from: float = field(default=0.8, metadata={"help": "학습의 이 비율이 지나면 창 길이를 n_positions로 늘려 모든 위치를 학습합니다. 싸게 끝날 만큼 늦고, 학습률이 아직 최고값의 약 10퍼센트로 남아 있을 만큼 이르게 (0.9에서 0까지 감쇠하면 위치 64-255가 토큰당 약 0.2 nats 나빴습니다)"})
    total_tokens: int = field(default=20_000_000, metadata={"help": "학습할 토큰 수 (time_budget_minutes가 0일 때)"})
    time_budget_minutes: float = field(default=118.0, metadata={"help": "0보다 크면 일정이 경과 시간을 따릅니다: 워밍업, 코사인 감쇠, 긴 창으로의 전환이 경과/예산 비율을 따르고 예산이 되면 학습을 멈춥니다 (경과 시간은 이어서 학습해도 유지)"})
    learning_rate: float = field(default=3e-3, metadata={"help": "최대 학습률 (AdamW)"})
    min_lr_ratio: float = field(default=0.0, metadata={"help": "마지막 학습률 (최대 학습률에 대한 비율)"})
    warmup_steps: int = field(default=500, metadata={"help": "선형 워밍업 스텝 수"})
    align_to_documents: float = field(default=0.5, metadata={"help": "문서 경계에서 시작하는 창의 비율 (평가 때처럼 위치 0에 </s>). 나머지는 아무 데서나 시작해서, 앞에 </s>가 없는 프롬프트(학생들이 KoGPT2를 부르는 방식)도 분포 안에 둡니다. 1.0이면 그런 프롬프트가 훨씬 나빠집니다"})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW 가중치 감쇠 (행렬에만)"})
    val_docs: int = field(default=300, metadata={"help": "검증 손실용으로 학습에서 뺄 말뭉치 마지막 N줄"})
    log_every: int = field(default=200, metadata={"help": "로그 줄 사이의 스텝 수"})
    save_every: int = field(default=1000, metadata={"help": "체크포인트와 모델 내보내기 사이의 스텝 수"})
    bf16: bool = field(default=True, metadata={"help": "CPU에서 bf16 autocast (AMX가 있으면 약 2배 빠름)"})
    compile: bool = field(default=True, metadata={"help": "학습 순전파/역전파를 torch.compile (창 길이마다 한 번, 각 30초쯤; 이 CPU에서 약 1.6배 빠름)"})
    compile_mode: str = field(default="max-autotune", metadata={"help": "torch.compile 모드 ('default' 또는 'max-autotune': AMX GEMM 템플릿, 여기서 약 10퍼센트 빠름)"})
    threads: int = field(default=0, metadata={"help": "torch 스레드 수 (0 = 모든 코어)"})
    seed: int = field(default=42, metadata={"help": "난수 시드"})
    max_minutes: float = field(default=0.0, metadata={"help": "이만큼(분) 지나면 체크포인트를 쓰고 멈춥니다. 0 = 제한 없음. 다시 실행하면 이어서 학습합니다"})


class PretrainArgumentParser(KoreanArgumentParser, HfArgumentParser):
    """HfArgumentParser (options from the dataclass fields) with the course's Korean usage, help and errors."""

    def __init__(self, dataclass_types, **kwargs):
        super().__init__(dataclass_types, **kwargs)
        for action in self._actions:  # HfArgumentParser gives --no_X the help of --X
            if isinstance(action, argparse._StoreFalseAction):
                action.help = f"{action.dest} 끄기"


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


def read_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.strip() for line in f if line.strip()]


BYTE_TOKENS = [f"<0x{i:02X}>" for i in range(256)]


def train_tokenizer(docs: list[str], args: PretrainArguments, out: Path) -> PreTrainedTokenizerFast:
    """A KoGPT2-style tokenizer: BPE over characters, ``▁`` (Metaspace) word marker, byte fallback.

    KoGPT2's special tokens keep KoGPT2's ids (0-6); the 256 byte tokens ``<0x00>``..``<0xFF>`` follow,
    so a character the corpus never showed (or one outside the ``limit_alphabet`` most frequent) is
    spelled in its UTF-8 bytes and ``decode(encode(x)) == x`` holds for any text (except U+FFFD itself and a
    leading space, which becomes the word marker as in sentencepiece).
    The decoder drops byte tokens that do not form a character, so generated text never shows ``�``.
    """
    metaspace = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    trainer_tok = Tokenizer(models.BPE(unk_token=UNK_TOKEN, byte_fallback=True))
    trainer_tok.pre_tokenizer = metaspace
    trainer = trainers.BpeTrainer(
        vocab_size=args.vocab_size - len(BYTE_TOKENS),
        special_tokens=SPECIAL_TOKENS_IN_ID_ORDER,
        limit_alphabet=args.limit_alphabet,
        min_frequency=2,
        show_progress=False,
    )
    trainer_tok.train_from_iterator(docs, trainer=trainer, length=len(docs))
    # Re-number: special tokens, then the byte tokens, then the trained pieces (merges are by string).
    trained = json.loads(trainer_tok.to_str())["model"]
    pieces = [t for t in sorted(trained["vocab"], key=trained["vocab"].get) if t not in SPECIAL_TOKENS_IN_ID_ORDER]
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS_IN_ID_ORDER + BYTE_TOKENS + pieces)}
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token=UNK_TOKEN, byte_fallback=True))
    tok.pre_tokenizer = metaspace
    tok.decoder = kogpt2_style_decoder()
    tok.add_special_tokens(SPECIAL_TOKENS_IN_ID_ORDER)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, model_max_length=args.n_positions,
                                   clean_up_tokenization_spaces=False, **TOKENIZER_KWARGS)
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


def main(argv=None) -> None:
    (args,) = PretrainArgumentParser(PretrainArguments, description="강의에 포함된 작은 한국어 GPT-2(models/kogpt2-tiny)를 "
                                     "처음부터 학습합니다. 다시 실행하면 이어서 학습합니다.").parse_args_into_dataclasses(argv)
    if not Path(args.corpus).is_file():
        raise UserError(f"말뭉치 파일이 없습니다: {args.corpus}. --corpus로 한 줄에 문서 하나인 UTF-8 텍스트 파일을 지정하세요.")
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
    run_main(main)
