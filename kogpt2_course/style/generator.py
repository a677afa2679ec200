"""Step 6's interactive generator: the ``--tmp_sent`` prompt first, then prompts typed by the user.

It stops at ``quit`` (or ``exit``, ``q``, ``종료``), an empty line, the end of input (Ctrl+D; Ctrl+Z
then Enter on Windows) or Ctrl+C — always with a Korean goodbye, never a traceback — or after
``loops`` results when ``loops`` is positive. Each result is printed and written to a new numbered
file ``<n>.txt`` in the samples folder (created when missing; an empty folder starts at ``1.txt``,
where the sibling project crashed), whose first line lists the settings that produced it.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

QUIT_WORDS = {"quit", "exit", "q", "종료"}
GOODBYE = "생성기를 마칩니다. 안녕히 가세요!"
PROMPT = "이어 쓸 문장 (끝내려면 빈 줄, quit 또는 Ctrl+D): "


class PromptError(ValueError):
    """A prompt that cannot be continued (e.g. longer than the model's context); Korean message."""


@dataclass(frozen=True)
class GeneratorSettings:
    text_size: int
    temperature: float
    top_k: int
    top_p: float
    load_path: str = ""
    model: str = ""
    condition: str | None = None

    def header(self, prompt: str) -> str:
        """One line: every setting that produced a result (the sibling project's header, spelled out)."""
        when = _dt.datetime.now().isoformat(timespec="seconds")
        parts = [f"load_path={self.load_path}", f"model={self.model}", f"tmp_sent={prompt!r}",
                 f"text_size={self.text_size}", f"temperature={self.temperature:g}", f"top_k={self.top_k}",
                 f"top_p={self.top_p:g}"]
        if self.condition:
            parts.append(f"condition={self.condition!r}")
        return "# " + ", ".join(parts) + f", time={when}"


def next_sample_path(folder: str | Path) -> Path:
    """``<folder>/<n>.txt`` with ``n`` one more than the largest numbered file there (1 in an empty folder)."""
    folder = Path(folder)
    numbers = [int(p.stem) for p in folder.iterdir() if p.is_file() and p.stem.isdigit()] if folder.is_dir() else []
    return folder / f"{max(numbers, default=0) + 1}.txt"


def save_sample(folder: str | Path, header: str, text: str) -> Path:
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = next_sample_path(folder)
    path.write_text(f"{header}\n{text}\n", encoding="utf-8")
    return path


def run_interactive(generate: Callable[[str], str], first_prompt: str, settings: GeneratorSettings,
                    samples_dir: str | Path, loops: int = -1, input_fn: Callable[[str], str] | None = None,
                    print_fn: Callable[..., None] = print) -> list[Path]:
    """Generate for ``first_prompt`` (when not empty), then for each typed prompt; return the sample files.

    ``generate(prompt) -> text``; a :class:`PromptError` it raises is shown and the loop goes on.
    ``input_fn`` defaults to the built-in ``input`` (looked up at call time, so tests can replace it).
    """
    ask = input_fn or (lambda text: input(text))
    pending = first_prompt.strip()
    saved: list[Path] = []
    try:
        while loops < 0 or len(saved) < loops:
            if pending:
                prompt, pending = pending, ""
                print_fn(f"{PROMPT}{prompt}")
            else:
                prompt = ask(PROMPT).strip()
            if not prompt or prompt.lower() in QUIT_WORDS:
                break
            try:
                text = generate(prompt)
            except PromptError as exc:
                print_fn(f"[입력 오류] {exc}")
                continue
            print_fn(text)
            path = save_sample(samples_dir, settings.header(prompt), text)
            saved.append(path)
            print_fn(f"(저장: {path})\n")
    except EOFError:  # Ctrl+D / end of piped input
        print_fn("")
    except KeyboardInterrupt:  # Ctrl+C while typing or generating
        print_fn("")
    print_fn(GOODBYE + (f" 결과 {len(saved)}개를 {samples_dir}에 저장했습니다." if saved else ""))
    return saved


def new_token_budget(model, tokenizer, prompt_text: str, text_size: int) -> int:
    """``text_size`` or less: what still fits in the model's context after ``</s>`` + the prompt."""
    used = 1 + len(tokenizer.encode(prompt_text))
    limit = int(getattr(model.config, "n_positions", 0) or model.config.max_position_embeddings)
    if used >= limit:
        raise PromptError(f"프롬프트가 너무 깁니다: {used}토큰 (이 모델은 최대 {limit}토큰까지 봅니다). 줄여서 다시 입력하세요.")
    return min(int(text_size), limit - used)
