"""How often sampled text would show a broken character (U+FFFD, `�`), before and after the clean-up.

A tokenizer whose tokens can be parts of a character (byte-level BPE, or byte fallback) lets sampling
stop inside a character or pick bytes that never form one; ``decode`` then shows `�`. The bundled
tokenizer's decoder drops such bytes (:func:`kogpt2_course.lm.tokens.kogpt2_style_decoder`). This
benchmark samples at a preset (default ``creative``, the web demo's 창의적) and counts the samples
whose text contains `�`:
  * "정리 전": decoded with byte fallback only (the bytes that form no character become `�`);
  * "보이는 글": decoded as the course shows it (``tokenizer.decode``, ``skip_special_tokens=True``).
With ``--baseline_model`` a second model (e.g. the previous weights) is measured in the same run.

    python bench/bench_broken_characters.py                                   # 300 samples x 64 new tokens
    python bench/bench_broken_characters.py --baseline_model /tmp/oldmodel
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
from tokenizers import Tokenizer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from kogpt2_course.cli.arguments import KoreanArgumentParser  # noqa: E402
from kogpt2_course.grading.script_runner import run_main  # noqa: E402
from kogpt2_course.lm.loading import load_model_and_tokenizer  # noqa: E402
from kogpt2_course.lm.presets import PRESETS, preset_values  # noqa: E402
from kogpt2_course.lm.resolution import add_model_argument, resolve_model_name  # noqa: E402
from kogpt2_course.lm.tokens import REPLACEMENT_CHARACTER, kogpt2_style_decoder  # noqa: E402

PROMPTS = ["이 영화", "배우들 연기가", "오늘 극장에서", "감독의 다음 작품은", "솔직히 말하면"]


def raw_decoder_tokenizer(tokenizer) -> Tokenizer:
    """A copy of the backend tokenizer whose decoder turns bytes that form no character into `�`."""
    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    if json.loads(backend.to_str())["model"].get("byte_fallback"):
        backend.decoder = kogpt2_style_decoder(drop_broken_bytes=False)
    return backend


def count_broken(model, tokenizer, samples: int, max_new_tokens: int, preset: str, seed: int) -> dict:
    raw = raw_decoder_tokenizer(tokenizer)
    per_prompt = -(-samples // len(PROMPTS))
    counts = {"samples": 0, "raw": 0, "raw_at_end": 0, "shown": 0, "examples": []}
    torch.manual_seed(seed)
    started = time.perf_counter()
    for prompt in PROMPTS:
        n = min(per_prompt, samples - counts["samples"])
        if n <= 0:
            break
        ids = tokenizer.encode(prompt, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                                 num_return_sequences=n, pad_token_id=tokenizer.pad_token_id, **preset_values(preset))
        for row in out[:, ids.shape[1]:].tolist():
            raw_text = raw.decode(row, skip_special_tokens=True)
            shown = tokenizer.decode(row, skip_special_tokens=True)
            counts["samples"] += 1
            counts["raw"] += REPLACEMENT_CHARACTER in raw_text
            counts["raw_at_end"] += raw_text.rstrip().endswith(REPLACEMENT_CHARACTER)
            counts["shown"] += REPLACEMENT_CHARACTER in shown
            if REPLACEMENT_CHARACTER in raw_text and len(counts["examples"]) < 3:
                counts["examples"].append((prompt + " " + raw_text)[-60:])
    counts["seconds"] = time.perf_counter() - started
    return counts


def main(argv=None) -> None:
    parser = KoreanArgumentParser(description=__doc__)
    add_model_argument(parser)
    parser.add_argument("--baseline_model", default=None, help="같은 실행에서 함께 잴 두 번째 모델 폴더(예: 이전 가중치)")
    parser.add_argument("--samples", type=int, default=300, help="모델마다 샘플 수 (프롬프트 다섯 개에 나눔)")
    parser.add_argument("--max_new_tokens", type=int, default=64, help="샘플마다 새 토큰 수 (최대)")
    parser.add_argument("--preset", default="creative", choices=list(PRESETS), help="디코딩 프리셋 (lm/presets.py)")
    parser.add_argument("--seed", type=int, default=0, help="난수 시드")
    args = parser.parse_args(argv)

    names = [resolve_model_name(args.model)]
    if args.baseline_model:
        names.append(resolve_model_name(args.baseline_model, verbose=False))
    print(f"프리셋 {args.preset}({PRESETS[args.preset].label}) {preset_values(args.preset)}, 새 토큰 최대 {args.max_new_tokens}개, "
          f"시드 {args.seed}")
    for name in names:
        model, tokenizer = load_model_and_tokenizer(name)
        c = count_broken(model, tokenizer, args.samples, args.max_new_tokens, args.preset, args.seed)
        print(f"\n{name}: 샘플 {c['samples']}개 ({c['seconds']:.0f}초)")
        print(f"  정리 전(바이트를 그대로 디코딩) `�`가 든 샘플: {c['raw']}개 (그중 끝에 있는 것 {c['raw_at_end']}개)")
        print(f"  보이는 글(tokenizer.decode)에 `�`가 든 샘플: {c['shown']}개")
        for example in c["examples"]:
            print(f"    예: …{example!r}")


if __name__ == "__main__":
    run_main(main)
