"""Step 4 autograder: arguments, datasets, data loaders, task, training with resume, perplexity.

Every test trains or evaluates the bundled model on a few dozen rows written here (seconds on a CPU).
"""

import math
from dataclasses import replace
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from kogpt2_course.nlpbook.checkpoints import last_checkpoint_path, load_finetuned_model
from kogpt2_course.nlpbook.generation.dataset import GenerationCollator
from kogpt2_course.nlpbook.generation.task import GenerationTask
from kogpt2_course.nlpbook.generation.arguments import GenerationDeployArguments, GenerationTrainArguments

STEP = 4
CORPUS = "mini-nsmc"
ASPECTS = ["이 영화", "배우 연기", "줄거리", "음악", "마지막 장면", "촬영"]
TRAIN_ROWS = [(f"{a} {v}", label) for a in ASPECTS
              for v, label in [("참 좋았다", 1), ("별로였다", 0), ("또 보고 싶다", 1), ("지루했다", 0)]]
TEST_ROWS = [("화면이 예뻤다", 1), ("너무 길었다", 0), ("웃음이 났다", 1), ("잠이 왔다", 0),
             ("이야기가 탄탄했다", 1), ("대사가 어색했다", 0), ("추천하고 싶다", 1)]


def write_rows(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        f.write("id\tdocument\tlabel\n")
        for i, (text, label) in enumerate(rows, start=1):
            f.write(f"{i}\t{text}\t{label}\n")


@pytest.fixture
def train_args(tmp_path, bundled_dir):
    folder = tmp_path / "data" / CORPUS
    folder.mkdir(parents=True)
    write_rows(folder / "ratings_train.txt", TRAIN_ROWS)
    write_rows(folder / "ratings_test.txt", TEST_ROWS)
    return GenerationTrainArguments(
        pretrained_model_name=bundled_dir, downstream_corpus_name=CORPUS,
        downstream_corpus_root_dir=str(tmp_path / "data"), downstream_model_dir=str(tmp_path / "ckpt"),
        max_seq_length=32, batch_size=8, learning_rate=1e-3, epochs=1, seed=0)


def expected_ids(tokenizer, text, label):
    word = "긍정" if label == 1 else "부정"
    return [tokenizer.bos_token_id, *tokenizer.encode(f"{word} {text}"), tokenizer.eos_token_id]


def loaders(args, tokenizer):
    from kogpt2_course.nlpbook.generation.dataset import GenerationDataset
    from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus

    collate = GenerationCollator(tokenizer.pad_token_id)
    train = GenerationDataset(args, NsmcCorpus(), tokenizer, "train")
    val = GenerationDataset(args, NsmcCorpus(), tokenizer, "test")
    return (DataLoader(train, batch_size=args.batch_size, shuffle=True, collate_fn=collate),
            DataLoader(val, batch_size=args.batch_size, collate_fn=collate))


def fresh_task(args):
    from transformers import GPT2LMHeadModel

    return GenerationTask(GPT2LMHeadModel.from_pretrained(args.pretrained_model_name), args)


def reference_val_loss(model, tokenizer, rows):
    """Mean negative log-likelihood per predicted token, one sequence at a time (no padding at all)."""
    total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for text, label in rows:
            ids = torch.tensor([expected_ids(tokenizer, text, label)])
            logits = model(ids).logits[0, :-1]
            total += torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="sum").item()
            count += ids.shape[1] - 1
    return total / count


@pytest.mark.todo("4-1")
def test_build_arguments(step, bundled_dir, tmp_path):
    """학습 설정 만들기: 명령행 옵션이 GenerationTrainArguments에 들어감"""
    cli = step.parse_args(["--downstream_corpus_name", "my-corpus", "--downstream_corpus_root_dir", str(tmp_path),
                           "--downstream_model_dir", str(tmp_path / "m"), "--max_seq_length", "48",
                           "--batch_size", "5", "--learning_rate", "0.0003", "--epochs", "2",
                           "--max_train_samples", "100", "--max_eval_samples", "20", "--seed", "11",
                           "--val_check_interval", "0.5", "--no_resume", "--devices", "2", "--strategy", "ddp"])
    other_model = str(tmp_path / "다른-모델")  # not the default: the name must really be passed on
    args = step.build_arguments(other_model, cli)
    assert isinstance(args, GenerationTrainArguments), "GenerationTrainArguments를 돌려줘야 합니다"
    expected = dict(pretrained_model_name=other_model, downstream_corpus_name="my-corpus",
                    downstream_corpus_root_dir=str(tmp_path), downstream_model_dir=str(tmp_path / "m"),
                    max_seq_length=48, batch_size=5, learning_rate=0.0003, epochs=2, max_train_samples=100,
                    max_eval_samples=20, seed=11, val_check_interval=0.5, resume=False,
                    devices="2", strategy="ddp", accelerator="auto", num_nodes=1)  # the last four: given code
    for name, value in expected.items():
        assert getattr(args, name) == value, f"{name}이(가) {getattr(args, name)!r}입니다 (기대: {value!r})"
    args = step.build_arguments(bundled_dir, step.parse_args([]))
    assert args.resume is True, "--no_resume이 없으면 resume=True여야 합니다 (이어서 학습)"
    for model_name in (bundled_dir, "skt/kogpt2-base-v2"):
        args = step.build_arguments(model_name, step.parse_args([]))
        expected_rate = step.default_learning_rate(model_name)
        assert args.learning_rate == expected_rate, (
            f"--learning_rate를 생략하면 학습률이 {args.learning_rate!r}입니다 (기대: {expected_rate:g}) — "
            f"cli.learning_rate(생략하면 None)가 아니라 위에서 계산한 learning_rate를 넘기세요")


@pytest.mark.todo("4-2", points=2)
def test_build_datasets(step, train_args, tiny_tokenizer):
    """데이터셋 만들기: '긍정/부정 + 리뷰' 토큰과 </s> 경계"""
    train, val = step.build_datasets(train_args, tiny_tokenizer)
    assert len(train) == len(TRAIN_ROWS), f"학습 예제 수가 {len(train)}개입니다 (기대: {len(TRAIN_ROWS)}, mode='train')"
    assert len(val) == len(TEST_ROWS), f"검증 예제 수가 {len(val)}개입니다 (기대: {len(TEST_ROWS)}, mode='test')"
    for dataset, rows in ((train, TRAIN_ROWS), (val, TEST_ROWS)):
        for i, (text, label) in enumerate(rows):
            got = dataset[i]["input_ids"].tolist()
            assert got == expected_ids(tiny_tokenizer, text, label), (
                f"{i}번 예제의 토큰이 '</s>{'긍정' if label else '부정'} {text}</s>'와 다릅니다")
    limited = step.build_datasets(replace(train_args, max_train_samples=5), tiny_tokenizer)[0]
    assert len(limited) == 5, "max_train_samples=5이면 학습 예제는 5개여야 합니다 (GenerationDataset에 args를 넘기세요)"


@pytest.mark.todo("4-3", points=2)
def test_build_dataloaders(step, train_args, tiny_tokenizer, tmp_path):
    """데이터 로더: 동적 패딩, 패딩 위치 labels=-100, 학습은 섞은 뒤 길이로 묶고 검증은 순서대로"""
    train, val = _datasets(train_args, tiny_tokenizer)
    train_dl, val_dl = step.build_dataloaders(train_args, train, val, tiny_tokenizer)
    first = next(iter(val_dl))["input_ids"]
    assert len(first) == min(train_args.batch_size, len(val)), \
        f"검증 배치 크기도 args.batch_size여야 합니다 (첫 배치 {len(first)}개)"
    seen = []
    for batch in val_dl:
        ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
        assert ids.shape[0] <= train_args.batch_size, "배치 크기는 args.batch_size여야 합니다"
        lengths = mask.sum(dim=1)
        assert ids.shape[1] == int(lengths.max()), "배치는 그 배치의 가장 긴 예제 길이까지만 채워야 합니다 (동적 패딩)"
        assert torch.equal(labels[mask == 0], torch.full_like(labels[mask == 0], -100)), \
            "패딩 위치의 labels는 -100이어야 합니다 (손실에서 제외)"
        assert torch.equal(labels[mask == 1], ids[mask == 1]), "패딩이 아닌 위치의 labels는 input_ids와 같아야 합니다"
        seen += [ids[i, :lengths[i]].tolist() for i in range(ids.shape[0])]
    assert seen == [val[i]["input_ids"].tolist() for i in range(len(val))], "검증 로더는 순서대로(SequentialSampler) 읽어야 합니다"
    assert len(next(iter(train_dl))["input_ids"]) == train_args.batch_size, "학습 배치 크기는 args.batch_size여야 합니다"

    def order(seed):
        torch.manual_seed(seed)
        return [tuple(row[row != tiny_tokenizer.pad_token_id].tolist()) for b in train_dl for row in b["input_ids"]]

    first, second = order(0), order(1)
    assert sorted(first) == sorted(tuple(train[i]["input_ids"].tolist()) for i in range(len(train))), \
        "학습 로더는 한 에폭에 모든 예제를 한 번씩 돌려줘야 합니다"
    assert first != second, "학습 로더는 예제를 섞어야 합니다 (LengthGroupedSampler는 섞은 뒤 길이로 묶습니다)"

    # Length grouping: 8 copies of the rows (LengthGroupedSampler sorts within groups of up to 50 batches,
    # at least 4 groups per epoch) against the average padding of random batches of the same rows.
    folder = tmp_path / "data" / "mini-nsmc-x8"
    folder.mkdir(parents=True)
    write_rows(folder / "ratings_train.txt", TRAIN_ROWS * 8)
    write_rows(folder / "ratings_test.txt", TEST_ROWS)
    big_args = replace(train_args, downstream_corpus_name="mini-nsmc-x8")
    big_train, big_val = _datasets(big_args, tiny_tokenizer)
    train_dl = step.build_dataloaders(big_args, big_train, big_val, tiny_tokenizer)[0]
    torch.manual_seed(0)
    padded = sum(int((batch["attention_mask"] == 0).sum()) for batch in train_dl)
    lengths, size = torch.tensor(big_train.lengths()), train_args.batch_size
    generator = torch.Generator().manual_seed(0)
    random_widths = [lengths[torch.randperm(len(lengths), generator=generator)].view(-1, size) for _ in range(200)]
    random_padding = sum(int((w.max(dim=1, keepdim=True).values - w).sum()) for w in random_widths) / 200
    assert padded <= random_padding / 2, (
        f"학습 배치는 길이가 비슷한 예제끼리 묶어야 합니다 (LengthGroupedSampler): 한 에폭의 패딩이 {padded}칸인데, "
        f"무작위 배치는 평균 {random_padding:.0f}칸입니다")


def _datasets(args, tokenizer):
    from kogpt2_course.nlpbook.generation.dataset import GenerationDataset
    from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus

    return GenerationDataset(args, NsmcCorpus(), tokenizer, "train"), GenerationDataset(args, NsmcCorpus(), tokenizer, "test")


@pytest.mark.todo("4-4", points=2)
def test_build_task_learns(step, train_args, tiny_tokenizer, tiny_model):
    """태스크 만들기: 사전 학습 가중치에서 출발, 한 스텝 학습하면 그 배치의 손실이 줄어듦"""
    task = step.build_task(train_args)
    assert isinstance(task, GenerationTask), "GenerationTask(model, args)를 돌려줘야 합니다"
    ids = torch.tensor([expected_ids(tiny_tokenizer, *TRAIN_ROWS[0])])
    task.model.eval()
    with torch.no_grad():
        assert torch.allclose(task.model(ids).logits, tiny_model(ids).logits, atol=1e-5), \
            "args.pretrained_model_name의 사전 학습 가중치로 모델을 불러와야 합니다"
    collate = GenerationCollator(tiny_tokenizer.pad_token_id)
    batch = collate([{"input_ids": torch.tensor(expected_ids(tiny_tokenizer, t, l))} for t, l in TRAIN_ROWS[:8]])

    def batch_loss():
        task.model.eval()
        with torch.no_grad():
            return task.model(**batch).loss.item()

    before = batch_loss()
    trainer = L.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, accelerator="cpu", devices=1)
    trainer.fit(task, train_dataloaders=DataLoader([batch], batch_size=None))  # the same batch, once
    after = batch_loss()
    assert after < before, f"한 스텝 학습 후 손실이 줄어야 합니다: {before:.4f} → {after:.4f}"


def count_training_steps(task):
    calls = []
    original = task.training_step
    task.training_step = lambda *a, **k: calls.append(1) or original(*a, **k)
    return calls


@pytest.mark.todo("4-5", points=3)
def test_train_checkpoints_and_resume(step, train_args, tiny_tokenizer):
    """학습: val_loss 최저 체크포인트 + last.ckpt, 중단된 학습은 더 새로운 interrupted.ckpt에서 이어서"""
    train_dl, val_dl = loaders(train_args, tiny_tokenizer)
    steps_per_epoch = len(train_dl)
    task = fresh_task(train_args)
    trainer = step.train(train_args, task, train_dl, val_dl)
    assert isinstance(trainer, L.Trainer), "get_trainer(args)로 만든 트레이너를 돌려줘야 합니다"
    assert trainer.global_step == steps_per_epoch, \
        f"1 에폭은 {steps_per_epoch} 스텝입니다 (실제 {trainer.global_step}) — trainer.fit을 호출하세요"
    assert last_checkpoint_path(train_args.downstream_model_dir), "last.ckpt가 저장되지 않았습니다 (get_trainer(args) 사용)"
    deploy = GenerationDeployArguments(pretrained_model_name=train_args.pretrained_model_name,
                                       downstream_model_dir=train_args.downstream_model_dir)
    assert deploy.downstream_model_checkpoint_fpath, "val_loss가 적힌 최고 체크포인트가 없습니다 (val_dataloaders를 넘기세요)"
    reloaded = load_finetuned_model(deploy)
    ids = torch.tensor([expected_ids(tiny_tokenizer, *TEST_ROWS[0])])
    task.model.eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(ids).logits, task.model(ids).logits, atol=1e-5), \
            "체크포인트에서 다시 불러온 모델의 출력이 학습된 모델과 다릅니다"

    # a second epoch that crashes after one step: interrupted.ckpt is newer than last.ckpt
    more = replace(train_args, epochs=2)
    crashing = fresh_task(more)
    calls = count_training_steps(crashing)
    original = crashing.training_step

    def crash_after_one_step(*a, **k):
        if crashing.global_step > steps_per_epoch:
            raise RuntimeError("시험용 중단")
        return original(*a, **k)

    crashing.training_step = crash_after_one_step
    try:
        step.train(more, crashing, train_dl, val_dl)
        crashed = False
    except RuntimeError:
        crashed = True
    assert crashed, "학습 중 난 오류를 삼키지 마세요 (trainer.fit이 오류를 그대로 올려야 합니다)"
    assert len(calls) == 1, (f"다시 실행하면 last.ckpt에서 이어서 2번째 에폭부터 학습해야 하는데 처음부터 {len(calls)} 스텝을 "
                             f"학습했습니다 — ckpt_path=resume_checkpoint_path(args)를 넘기세요")
    assert (Path(train_args.downstream_model_dir) / "interrupted.ckpt").exists(), \
        "중단될 때 interrupted.ckpt가 저장되지 않았습니다 — get_trainer(args)로 만든 트레이너를 쓰세요"

    task2 = fresh_task(more)
    calls = count_training_steps(task2)
    trainer2 = step.train(more, task2, train_dl, val_dl)
    assert trainer2.global_step == 2 * steps_per_epoch, f"2 에폭 뒤 스텝 수는 {2 * steps_per_epoch}여야 합니다"
    assert len(calls) == steps_per_epoch - 1, (
        f"중단된 학습을 다시 실행하면 더 새로운 interrupted.ckpt에서 이어서 남은 {steps_per_epoch - 1} 스텝만 학습해야 "
        f"하는데 {len(calls)} 스텝을 학습했습니다 — last.ckpt가 아니라 resume_checkpoint_path(args)를 넘기세요")


@pytest.mark.todo("4-6", points=2)
def test_evaluate_perplexity(step, train_args, tiny_tokenizer, tiny_model):
    """퍼플렉서티: 패딩을 뺀 토큰당 평균 손실의 exp"""
    from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus
    from kogpt2_course.nlpbook.generation.dataset import GenerationDataset

    # batches of 3, 3 and 1 reviews of different lengths: the mean of the batch losses (or their sum)
    # is not the mean over tokens
    val = GenerationDataset(train_args, NsmcCorpus(), tiny_tokenizer, "test")
    val_dl = DataLoader(val, batch_size=3, collate_fn=GenerationCollator(tiny_tokenizer.pad_token_id))
    val_loss, perplexity = step.evaluate_perplexity(fresh_task(train_args), val_dl)
    expected = reference_val_loss(tiny_model, tiny_tokenizer, TEST_ROWS)
    assert isinstance(val_loss, float) and isinstance(perplexity, float), "두 값 모두 float로 돌려주세요"
    assert val_loss == pytest.approx(expected, rel=1e-4), (
        f"val_loss {val_loss:.4f}가 기대값 {expected:.4f}와 다릅니다 — 배치별 손실의 합이나 평균이 아니라 검증 데이터 전체의 "
        f"(패딩을 뺀) 토큰당 평균이어야 합니다")
    assert perplexity == pytest.approx(math.exp(expected), rel=1e-3), "perplexity = math.exp(val_loss)여야 합니다"
