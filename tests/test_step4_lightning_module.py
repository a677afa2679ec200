"""Step 4 autograder, the LightningModule part: the training step's loss (TODO 4-7) and the optimizer with
its learning-rate schedule (TODO 4-8) of ``ReviewGenerationTask``.

Each test checks one TODO only: the schedule test trains with the course's own loss, so it does not need 4-7.
"""

import copy

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from kogpt2_course.nlpbook.generation.arguments import GenerationTrainArguments
from kogpt2_course.nlpbook.generation.dataset import GenerationCollator, encode_training_text
from kogpt2_course.nlpbook.generation.task import GenerationTask

STEP = 4
TEXTS = ["긍정 배우들 연기가 정말 좋았고 음악도 최고였다 강력 추천합니다", "부정 별로", "긍정 또 보고 싶다",
         "부정 결말이 너무 뻔했다"]


def padded_batch(tokenizer, texts):
    collate = GenerationCollator(tokenizer.pad_token_id)
    return collate([{"input_ids": torch.tensor(encode_training_text(tokenizer, text, 64))} for text in texts])


def per_token_nll(model, batch):
    """Every sequence on its own (no padding at all): summed NLL of its next-token predictions, and their count."""
    totals, counts = [], []
    with torch.no_grad():
        for ids, mask in zip(batch["input_ids"], batch["attention_mask"]):
            ids = ids[mask == 1][None]
            logits = model(ids).logits[0, :-1]
            totals.append(F.cross_entropy(logits, ids[0, 1:], reduction="sum").item())
            counts.append(ids.shape[1] - 1)
    return totals, counts


def known_mistakes(model, batch) -> dict[str, float]:
    """Values that plausible wrong answers produce, with the Korean explanation of each."""
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    vocab = logits.size(-1)
    shifted, labels, ids = logits[:, :-1].reshape(-1, vocab), batch["labels"][:, 1:].reshape(-1), batch["input_ids"]
    totals, counts = per_token_nll(model, batch)
    return {
        "토큰 손실의 합(reduction='sum')입니다 — 예측한 토큰 하나당 평균을 내야 배치의 토큰 수와 상관없는 크기가 됩니다":
            F.cross_entropy(shifted, labels, ignore_index=-100, reduction="sum").item(),
        "로짓과 정답을 한 칸 밀지 않았습니다 — 위치 t의 로짓은 t+1번째 토큰을 예측하므로 logits[:, :-1]과 labels[:, 1:]을 "
        "짝지어야 합니다":
            F.cross_entropy(logits.reshape(-1, vocab), batch["labels"].reshape(-1), ignore_index=-100).item(),
        "패딩 자리까지 손실에 들어갔습니다 — input_ids가 아니라 패딩이 -100인 batch['labels']를 정답으로 쓰고 "
        "ignore_index=-100으로 빼세요":
            F.cross_entropy(shifted, ids[:, 1:].reshape(-1)).item(),
        "문장마다 평균을 낸 뒤 다시 평균했습니다 — 짧은 문장의 토큰이 더 큰 무게를 받습니다. 배치 전체에서 예측한 "
        "토큰 하나당 평균을 내세요":
            sum(t / c for t, c in zip(totals, counts)) / len(counts),
    }


@pytest.mark.todo("4-7", points=2)
def test_compute_loss_is_mean_per_predicted_token(step, tiny_model, tiny_tokenizer, bundled_dir, one_torch_thread):
    """학습 스텝의 손실: 한 칸 밀어 맞춘 다음 토큰 예측, 패딩 제외, 예측한 토큰 하나당 평균"""
    task = step.ReviewGenerationTask(tiny_model, GenerationTrainArguments(pretrained_model_name=bundled_dir))
    batch = padded_batch(tiny_tokenizer, TEXTS)
    assert (batch["labels"] == -100).any(), "the test batch must contain padding"
    loss = task.compute_loss(batch)
    assert isinstance(loss, torch.Tensor) and loss.dim() == 0, \
        "TODO 4-7: compute_loss는 0차원 텐서(스칼라 손실) 하나를 돌려줘야 합니다"
    assert loss.requires_grad, ("TODO 4-7: 손실에 기울기가 흐르지 않습니다 — torch.no_grad() 안에서 계산하거나 "
                                ".item()/float()로 바꾸지 말고 텐서 그대로 돌려주세요 (Lightning이 backward를 부릅니다)")
    totals, counts = per_token_nll(tiny_model, batch)
    expected = sum(totals) / sum(counts)
    got = loss.item()
    if got == pytest.approx(expected, rel=1e-4):
        return
    for explanation, value in known_mistakes(tiny_model, batch).items():
        if got == pytest.approx(value, rel=1e-4):
            pytest.fail(f"TODO 4-7: 손실 {got:.4f}가 기대값 {expected:.4f}와 다릅니다: {explanation}", pytrace=False)
    pytest.fail(f"TODO 4-7: 손실 {got:.4f}가 기대값 {expected:.4f}(예측한 토큰 {sum(counts)}개의 평균 음의 로그 "
                f"가능도)와 다릅니다", pytrace=False)


class LearningRates(L.Callback):
    """The learning rate each training step uses, and the one left after the last step."""

    def __init__(self):
        self.used: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.used.append(trainer.optimizers[0].param_groups[0]["lr"])


@pytest.mark.todo("4-8", points=2)
def test_optimizer_and_linear_warmup_schedule_stepped_every_batch(step, tiny_model, tiny_tokenizer, bundled_dir,
                                                                   one_torch_thread):
    """옵티마이저와 학습률 스케줄: AdamW, 워밍업 뒤 선형으로 0까지, 배치마다 갱신"""

    class ScheduleOnly(step.ReviewGenerationTask):
        compute_loss = GenerationTask.compute_loss  # the course's loss: this test grades TODO 4-8 alone

    # learning_rate is not AdamW's default (1e-3), so a learning rate that is not passed on shows
    args = GenerationTrainArguments(pretrained_model_name=bundled_dir, learning_rate=3e-4, weight_decay=0.05,
                                    warmup_ratio=0.25, epochs=2, batch_size=4)
    task = ScheduleOnly(copy.deepcopy(tiny_model), args)
    texts = [f"{word} 영화" for word in ("긍정 좋은", "부정 나쁜", "긍정 멋진", "부정 지루한", "긍정 따뜻한", "부정 뻔한",
                                         "긍정 신선한", "부정 어색한", "긍정 예쁜", "부정 긴", "긍정 웃긴", "부정 슬픈")]
    collate = GenerationCollator(tiny_tokenizer.pad_token_id)
    items = [{"input_ids": torch.tensor(encode_training_text(tiny_tokenizer, text, 16))} for text in texts]
    loader = DataLoader(items, batch_size=args.batch_size, collate_fn=collate)
    rates = LearningRates()
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, callbacks=[rates])
    trainer.fit(task, train_dataloaders=loader)

    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.AdamW), \
        f"TODO 4-8: 옵티마이저는 torch.optim.AdamW여야 합니다 (지금: {type(optimizer).__name__})"
    group = optimizer.param_groups[0]
    assert group["weight_decay"] == pytest.approx(args.weight_decay), \
        f"TODO 4-8: weight decay는 args.weight_decay({args.weight_decay})여야 합니다 (지금: {group['weight_decay']})"
    optimized = sum(p.numel() for g in optimizer.param_groups for p in g["params"])
    assert optimized == sum(p.numel() for p in task.parameters()), "TODO 4-8: 옵티마이저에 모델의 모든 파라미터를 넘기세요"

    total, per_epoch = trainer.global_step, len(loader)
    warmup = int(args.warmup_ratio * total)
    expected = [args.learning_rate * (k / warmup if k < warmup else (total - k) / (total - warmup)) for k in range(total)]
    used = rates.used
    final = group["lr"]
    if used == pytest.approx(expected, abs=1e-9) and final == pytest.approx(0.0, abs=1e-12):
        return
    shown = ", ".join(f"{x:.2g}" for x in used)
    wanted = ", ".join(f"{x:.2g}" for x in expected)
    if len(set(used)) == 1 and final == used[0]:
        reason = (f"학습률이 한 번도 바뀌지 않았습니다 (계속 {final:.2g}) — 스케줄러를 만들었다면 Lightning이 알아보는 "
                  f"'lr_scheduler' 키로 돌려주세요 (책의 ratsnlp처럼 'scheduler' 키로 주면 Lightning이 무시합니다)")
    elif all(len(set(used[e * per_epoch:(e + 1) * per_epoch])) == 1 for e in range(args.epochs)):
        reason = ("학습률이 에폭마다 한 번만 바뀝니다 — \"lr_scheduler\": {\"scheduler\": ..., \"interval\": \"step\"}으로 "
                  "돌려줘야 Lightning이 배치마다 스케줄러를 갱신합니다 (interval의 기본값은 'epoch')")
    else:
        reason = (f"전체 {total} 스텝(self.trainer.estimated_stepping_batches) 중 처음 {warmup} 스텝 동안 0에서 "
                  f"{args.learning_rate:g}까지 올린 뒤 마지막 스텝에 0이 되도록 선형으로 줄여야 합니다")
    pytest.fail(f"TODO 4-8: {reason}. 스텝마다 쓴 학습률: [{shown}] (마지막 뒤 {final:.2g}), 기대: [{wanted}] "
                f"(마지막 뒤 0)", pytrace=False)
