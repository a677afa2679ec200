"""Step 4's wrong turns, each reproduced on a tiny run, with the Korean message the user sees and a rerun
that still trains and resumes correctly:

- Ctrl+C in the middle of an epoch → "같은 명령을 다시 실행하면 여기서 이어서 학습합니다", and the rerun
  finishes exactly the remaining steps; Ctrl+C before a resumed run took a step saves nothing newer;
- a stale ``interrupted.ckpt`` (empty optimizer state, newer than ``last.ckpt``: what Lightning's
  ``OnExceptionCheckpoint`` used to leave) is skipped and deleted;
- ``--epochs`` below what the checkpoint has done → a Korean sentence naming ``--no_resume``, exit code 2;
- ``--epochs`` above a finished run → the learning-rate schedule change is announced with its numbers,
  and the learning rates used are the announced ones;
- Step 4's own output: no English library notices between the Korean lines, samples with their prefix.
"""

import re
import signal
from dataclasses import replace

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from kogpt2_course.nlpbook.checkpoints import ResumeError, checkpoint_progress, load_checkpoint
from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments
from kogpt2_course.nlpbook.generation.dataset import GenerationCollator, encode_training_text
from kogpt2_course.nlpbook.generation.task import GenerationTask
from kogpt2_course.nlpbook.trainer import get_trainer, resume_checkpoint_path

TEXTS = [f"{p} {a} {v}" for a in ("영화", "연기", "음악") for p, v in (("긍정", "좋았다"), ("부정", "별로였다"),
                                                                  ("긍정", "최고"), ("부정", "지루했다"))]
BATCH = 4  # 12 texts → 3 steps per epoch


@pytest.fixture(scope="module")
def loader(tiny_tokenizer):
    items = [{"input_ids": torch.tensor(encode_training_text(tiny_tokenizer, t, 16))} for t in TEXTS]
    return DataLoader(items, batch_size=BATCH, collate_fn=GenerationCollator(tiny_tokenizer.pad_token_id))


class StopAt(L.Callback):
    """Press Ctrl+C (raise KeyboardInterrupt) when training reaches ``step``."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step:
            raise KeyboardInterrupt


class CountSteps(L.Callback):
    def __init__(self):
        self.lrs: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def fit(args, tiny_model, loader, *callbacks, ckpt_path=None):
    import copy

    task = GenerationTask(copy.deepcopy(tiny_model), args)
    trainer = get_trainer(args, enable_progress_bar=False)
    trainer.callbacks.extend(callbacks)
    trainer.fit(task, train_dataloaders=loader, val_dataloaders=loader, ckpt_path=ckpt_path)
    return trainer


@pytest.fixture
def sigint_restored():
    """Lightning ignores SIGINT after handling a KeyboardInterrupt; give pytest its Ctrl+C back."""
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


def test_ctrl_c_then_rerun_resumes_then_more_epochs(tmp_path, tiny_model, loader, capsys, recwarn,
                                                    sigint_restored, one_torch_thread):
    args = GenerationTrainArguments(pretrained_model_name="unused", downstream_model_dir=str(tmp_path / "ckpt"),
                                    learning_rate=1e-3, warmup_ratio=0.0, epochs=1, batch_size=BATCH)
    interrupted = tmp_path / "ckpt" / "interrupted.ckpt"

    # 1. Ctrl+C after 2 of the 3 steps: Korean line, interrupted.ckpt holds step 2 with its optimizer state
    with pytest.raises(SystemExit):
        fit(args, tiny_model, loader, StopAt(2), ckpt_path=resume_checkpoint_path(args))
    out = capsys.readouterr()
    assert "같은 명령을 다시 실행하면 여기서 이어서 학습합니다" in out.out and "학습 스텝 2까지" in out.out
    progress = checkpoint_progress(interrupted)
    assert progress.global_step == 2 and progress.has_optimizer_state

    # 2. the same command again: resumes from interrupted.ckpt and trains only the remaining step
    path = resume_checkpoint_path(args)
    assert path == str(interrupted) and "Ctrl+C로 멈춘" in capsys.readouterr().out
    steps = CountSteps()
    trainer = fit(args, tiny_model, loader, steps, ckpt_path=path)
    assert trainer.global_step == 3 and len(steps.lrs) == 1, "the rerun must finish the epoch, not start over"
    assert not interrupted.exists(), "a finished run removes interrupted.ckpt (last.ckpt is the furthest state)"

    # 3. Ctrl+C before the resumed run took a step: nothing newer than last.ckpt is written
    more = replace(args, epochs=2)
    with pytest.raises(SystemExit):
        fit(more, tiny_model, loader, StopAt(3), ckpt_path=resume_checkpoint_path(more))
    assert not interrupted.exists()
    assert "새 체크포인트를 저장하지 않았습니다" in capsys.readouterr().out

    # 4. a stale interrupted.ckpt (what OnExceptionCheckpoint left after a failed restore) is skipped and deleted
    stale = load_checkpoint(tmp_path / "ckpt" / "last.ckpt")
    stale["global_step"] += 100
    stale["optimizer_states"] = [{"state": {}, "param_groups": stale["optimizer_states"][0]["param_groups"]}]
    torch.save(stale, interrupted)
    assert resume_checkpoint_path(more).endswith("last.ckpt") and not interrupted.exists()
    capsys.readouterr()

    # 5. more epochs than the finished run: the schedule change is announced, and the rates used are those
    steps = CountSteps()
    trainer = fit(more, tiny_model, loader, steps, ckpt_path=resume_checkpoint_path(more))
    out = capsys.readouterr().out
    assert trainer.global_step == 6 and len(steps.lrs) == 3
    assert "[학습률 스케줄]" in out and "전체 3 스텝짜리 스케줄" in out and "전체 6 스텝" in out
    following = 1e-3 * (6 - 4) / 6  # linear decay over the new total, at step 4 (no warm-up)
    assert f"{following:.3g}" in out
    assert steps.lrs == pytest.approx([0.0, following, 1e-3 * (6 - 5) / 6], abs=1e-12)

    # 6. fewer epochs than done → Korean refusal naming --no_resume; nothing is left behind; a rerun still works
    with pytest.raises(ResumeError, match=r"이미 2 에폭.*--epochs를 3 이상.*--no_resume"):
        resume_checkpoint_path(replace(args, epochs=1))
    assert not interrupted.exists()
    assert checkpoint_progress(tmp_path / "ckpt" / "last.ckpt").global_step == 6

    # Lightning/transformers English notices stay out of the output
    shown = out + capsys.readouterr().err + " ".join(str(w.message) for w in recwarn)
    for english in ("GPU available", "💡 Tip", "LeafSpec", "loss_type=None", "Detected KeyboardInterrupt",
                    "exists and is not empty", "ckpt_path"):
        assert english not in shown, f"English notice not silenced: {english!r}"


def test_step4_output_and_fewer_epochs_message(tmp_path, tiny_model, loader, capsys, one_torch_thread):
    """Step 4 itself (the solution's main on a few rows): Korean lines only, prefixes shown, then --epochs below
    what was done: one Korean sentence naming --no_resume, exit code 2, before any slow work."""
    from conftest import ROOT, load_step_module
    from kogpt2_course.grading.script_runner import run_main

    step = load_step_module(4, "solution", ROOT)
    data = tmp_path / "data" / "rows"
    data.mkdir(parents=True)
    for name, texts in (("ratings_train.txt", TEXTS * 2), ("ratings_test.txt", TEXTS[:4])):
        rows = [(t.split(" ", 1)[1] + f" {i}", 1 if t.startswith("긍정") else 0) for i, t in enumerate(texts)]
        (data / name).write_text("id\tdocument\tlabel\n" + "".join(f"{i}\t{d}\t{y}\n" for i, (d, y) in enumerate(rows)),
                                 encoding="utf-8")
    argv = ["--model", "bundled", "--downstream_corpus_root_dir", str(tmp_path / "data"),
            "--downstream_corpus_name", "rows", "--downstream_model_dir", str(tmp_path / "ckpt"), "--batch_size", "8",
            "--max_seq_length", "16", "--num_samples", "1", "--max_new_tokens", "3", "--output_dir", str(tmp_path)]
    run_main(step.main, [*argv, "--epochs", "2"])
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    for english in ("GPU available", "💡 Tip", "LeafSpec", "loss_type=None", "attention_mask", "Warning", "warn"):
        assert english not in shown, f"English notice in Step 4's output: {english!r}"
    samples = [line for line in captured.out.splitlines() if line.startswith(("[긍정] ", "[부정] "))]
    assert len(samples) == 4 and all(line[5:].startswith(line[1:3]) for line in samples), \
        f"samples must start with their prefix word: {samples}"
    assert sum(line.startswith("테스트 퍼플렉서티") for line in captured.out.splitlines()) == 1 and "[무엇을 잰 것인가]" in captured.out
    assert "Step 5의 웹 데모는 아직 제어 코드" in captured.out and "[무엇이 줄었나]" in captured.out
    # the checkpoint was chosen on the validation split (its val_loss is the validation figure, not the test one)
    chosen = float(re.search(r"val_loss=([0-9.]+)\.ckpt", captured.out)[1])
    validation = float(re.search(r"val_loss [0-9.]+ → ([0-9.]+);", captured.out)[1])
    test = float(re.search(r"테스트 퍼플렉서티 \(.*?\): [0-9.]+ \(loss ([0-9.]+)\)", captured.out)[1])
    assert chosen == pytest.approx(validation, abs=1e-3) and abs(chosen - test) > 1e-3

    with pytest.raises(SystemExit) as exit_info:
        run_main(step.main, [*argv, "--epochs", "1"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "[오류]" in err and "이미 2 에폭" in err and "--no_resume" in err and "Traceback" not in err
