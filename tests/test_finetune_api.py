"""Non-graded tests of Step 4's support API (kogpt2_course: nsmc, sample_reviews, generation_data,
generation_task, trainer, checkpoints, train_arguments, sentiment_generation). Fast: a few dozen rows."""

import os
import time
from dataclasses import replace

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from kogpt2_course.nlpbook.checkpoints import best_checkpoint_path, load_checkpoint, load_finetuned_model
from kogpt2_course.nlpbook.generation.dataset import (IGNORE_INDEX, GenerationCollator, GenerationDataset,
                                           encode_training_text, training_text)
from kogpt2_course.nlpbook.generation.task import GenerationTask
from kogpt2_course.nlpbook.generation.corpus import NsmcCorpus, NsmcFormatError, prepare_corpus, read_nsmc_file
from kogpt2_course.nlpbook.generation.sample_reviews import SAMPLE_CORPUS_NAME, sample_reviews, write_sample_corpus
from kogpt2_course.nlpbook.generation.inference import generate_reviews, sentiment_prompt_ids
from kogpt2_course.nlpbook.generation.arguments import (GenerationDeployArguments, GenerationTrainArguments, help_texts)
from kogpt2_course.cli.arguments import UserError
from kogpt2_course.nlpbook.trainer import device_description, get_trainer, resume_checkpoint_path

ROWS = [(f"{a} {v}", label) for a in ("영화", "연기", "노래", "화면")
        for v, label in (("좋았다", 1), ("싫었다", 0), ("멋졌다", 1), ("지겨웠다", 0))]


def write_rows(path, rows, header=True):
    with open(path, "w", encoding="utf-8") as f:
        if header:
            f.write("id\tdocument\tlabel\n")
        for i, (text, label) in enumerate(rows, start=1):
            f.write(f"{i}\t{text}\t{label}\n")


@pytest.fixture
def args(tmp_path, bundled_dir):
    folder = tmp_path / "data" / "tiny"
    folder.mkdir(parents=True)
    write_rows(folder / "ratings_train.txt", ROWS)
    write_rows(folder / "ratings_test.txt", ROWS[:6])
    return GenerationTrainArguments(pretrained_model_name=bundled_dir, downstream_corpus_name="tiny",
                                    downstream_corpus_root_dir=str(tmp_path / "data"),
                                    downstream_model_dir=str(tmp_path / "ckpt"), max_seq_length=32,
                                    batch_size=8, learning_rate=1e-3, epochs=1, seed=0)


def loaders(args, tokenizer):
    collate = GenerationCollator(tokenizer.pad_token_id)
    corpus = NsmcCorpus()
    train = GenerationDataset(args, corpus, tokenizer, "train")
    val = GenerationDataset(args, corpus, tokenizer, "test")
    return (DataLoader(train, batch_size=args.batch_size, shuffle=True, collate_fn=collate),
            DataLoader(val, batch_size=args.batch_size, collate_fn=collate))


def new_task(args):
    from transformers import GPT2LMHeadModel

    return GenerationTask(GPT2LMHeadModel.from_pretrained(args.pretrained_model_name), args)


# --- NSMC files -----------------------------------------------------------------------------------

def test_bad_rows_are_skipped_and_counted(tmp_path, capsys):
    path = tmp_path / "ratings_train.txt"
    good = "id\tdocument\tlabel\n1\t재밌다\t1\n2\t지루하다\t0\n"
    bad = ("3\t레이블 없음\n"          # line 4: missing label
           "4\t \t1\n"                # line 5: empty document
           "5\t탭이\t더 있음\t1\n"      # line 6: extra tab
           "6\t이상한 레이블\t2\n")     # line 7: label not 0/1
    path.write_bytes((good + bad).encode("utf-8") + b"7\t\xff\xfe broken\t1\n" + "8\t마지막\t1\n".encode("utf-8"))
    result = read_nsmc_file(path)
    assert [r.document for r in result.rows] == ["재밌다", "지루하다", "마지막"]
    assert [r.label for r in result.rows] == [1, 0, 1]
    assert [b.line for b in result.bad_rows] == [4, 5, 6, 7, 8]
    corpus = NsmcCorpus()
    examples = corpus.get_examples(tmp_path, "train")
    assert [e.text for e in examples] == ["긍정 재밌다", "부정 지루하다", "긍정 마지막"]
    assert len(corpus.bad_rows["train"]) == 5
    assert "잘못된 행 5개" in capsys.readouterr().out


def test_bad_row_rejected_with_file_and_line(tmp_path):
    path = tmp_path / "ratings_test.txt"
    path.write_text("id\tdocument\tlabel\n1\t좋다\t1\n2\t레이블 없음\n", encoding="utf-8")
    with pytest.raises(NsmcFormatError, match=r"ratings_test\.txt:3행"):
        NsmcCorpus(on_bad_row="raise").get_examples(tmp_path, "test")


def test_sample_corpus_is_balanced_disjoint_and_clean(tmp_path):
    folder = write_sample_corpus(tmp_path / SAMPLE_CORPUS_NAME, n_train=300, n_test=60)
    train, test = (read_nsmc_file(folder / name) for name in ("ratings_train.txt", "ratings_test.txt"))
    assert len(train.rows) == 300 and len(test.rows) == 60 and not train.bad_rows and not test.bad_rows
    assert {r.label for r in train.rows} == {0, 1} and {r.label for r in test.rows} == {0, 1}
    assert not {r.document for r in train.rows} & {r.document for r in test.rows}
    assert sample_reviews(50) == sample_reviews(50), "the sample must be deterministic"


def test_prepare_corpus_writes_sample_and_explains_missing_folder(tmp_path):
    args = GenerationTrainArguments(downstream_corpus_root_dir=str(tmp_path))
    folder = prepare_corpus(args)
    assert (folder / "ratings_train.txt").exists() and (folder / "ratings_test.txt").exists()
    with pytest.raises(FileNotFoundError, match="ratings_train.txt"):
        prepare_corpus(replace(args, downstream_corpus_name="somewhere-else"))


# --- texts, dataset, collate --------------------------------------------------------------------

def test_training_text_and_prompt_agree(tiny_tokenizer):
    ids = encode_training_text(tiny_tokenizer, training_text(1, " 배우 연기가 좋았다 "), 64)
    assert ids[0] == ids[-1] == tiny_tokenizer.eos_token_id
    assert tiny_tokenizer.decode(ids[1:-1]) == "긍정 배우 연기가 좋았다"
    prompt = sentiment_prompt_ids(tiny_tokenizer, "긍정")[0].tolist()
    assert ids[:len(prompt)] == prompt and sentiment_prompt_ids(tiny_tokenizer, 1)[0].tolist() == prompt
    cut = encode_training_text(tiny_tokenizer, training_text(0, "아주 " * 40), 10)
    assert len(cut) == 10 and cut[-1] != tiny_tokenizer.eos_token_id, "a cut review must not end with </s>"


def test_collator_dynamic_and_max_length_padding():
    items = [{"input_ids": torch.tensor([1, 10, 11, 1])}, {"input_ids": torch.tensor([1, 12, 1])}]
    batch = GenerationCollator(pad_token_id=3)(items)
    assert batch["input_ids"].tolist() == [[1, 10, 11, 1], [1, 12, 1, 3]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert batch["labels"].tolist() == [[1, 10, 11, 1], [1, 12, 1, IGNORE_INDEX]]
    wide = GenerationCollator(pad_token_id=3, pad_to_length=6)(items)
    assert wide["input_ids"].shape == (2, 6) and wide["labels"][0, 4:].tolist() == [IGNORE_INDEX] * 2


def test_padding_does_not_change_the_loss(tiny_model):
    seqs = [torch.tensor([1, 400, 401, 402, 403, 1]), torch.tensor([1, 500, 1])]
    batch = GenerationCollator(3)([{"input_ids": s} for s in seqs])
    with torch.no_grad():
        padded = tiny_model(**batch).loss.item()
        total = sum(tiny_model(s[None], labels=s[None]).loss.item() * (len(s) - 1) for s in seqs)
    assert padded == pytest.approx(total / sum(len(s) - 1 for s in seqs), rel=1e-5)


def test_dataset_cache_loads_with_weights_only(args, tiny_tokenizer, monkeypatch):
    first = GenerationDataset(args, NsmcCorpus(), tiny_tokenizer, "train")
    cache = os.path.join(args.downstream_corpus_root_dir, args.downstream_corpus_name, "cached_train_generation.pt")
    assert isinstance(torch.load(cache, weights_only=True), dict)
    corpus = NsmcCorpus()
    monkeypatch.setattr(corpus, "get_examples", lambda *a: pytest.fail("the cache was not used"))
    again = GenerationDataset(args, corpus, tiny_tokenizer, "train")
    assert [s.tolist() for s in again.sequences] == [s.tolist() for s in first.sequences]
    limited = GenerationDataset(replace(args, max_train_samples=3), NsmcCorpus(), tiny_tokenizer, "train")
    assert len(limited) == 3, "a different limit must rebuild the cache"


# --- task, trainer, checkpoints -----------------------------------------------------------------

def test_optimizer_is_adamw_and_schedule_is_applied(args, tiny_tokenizer):
    train_dl, _ = loaders(args, tiny_tokenizer)
    task = new_task(replace(args, warmup_ratio=0.0, epochs=2))
    trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        accelerator="cpu", devices=1)
    trainer.fit(task, train_dataloaders=train_dl)
    optimizer = trainer.optimizers[0]
    assert isinstance(optimizer, torch.optim.AdamW)
    # without the scheduler the lr would still be 1e-3; the linear decay reaches 0 at the last step
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)
    assert [s for s, _ in task.history["loss"]] == list(range(trainer.global_step))


def test_checkpoint_reload_resume_and_history(args, tiny_tokenizer):
    train_dl, val_dl = loaders(args, tiny_tokenizer)
    task = new_task(args)
    get_trainer(args, enable_progress_bar=False).fit(task, train_dataloaders=train_dl, val_dataloaders=val_dl,
                                                     ckpt_path=resume_checkpoint_path(args))
    deploy = GenerationDeployArguments(pretrained_model_name=args.pretrained_model_name,
                                       downstream_model_dir=args.downstream_model_dir)
    best = deploy.downstream_model_checkpoint_fpath
    assert best and "val_loss=" in best
    checkpoint = load_checkpoint(best)  # weights_only=True on current torch
    assert checkpoint["loss_history"]["val_loss"], "the loss history travels with the checkpoint"
    model = load_finetuned_model(deploy)
    ids = torch.tensor([[1, *tiny_tokenizer.encode("긍정 영화 좋았다")]])
    task.model.eval()
    with torch.no_grad():
        assert torch.equal(model(ids).logits, task.model(ids).logits)
    steps = len(train_dl)
    more = replace(args, epochs=2)
    task2 = new_task(more)
    calls = []
    original = task2.training_step
    task2.training_step = lambda *a, **k: calls.append(1) or original(*a, **k)
    trainer2 = get_trainer(more, enable_progress_bar=False)
    trainer2.fit(task2, train_dataloaders=train_dl, val_dataloaders=val_dl, ckpt_path=resume_checkpoint_path(more))
    assert trainer2.global_step == 2 * steps and len(calls) == steps, "the rerun must resume, not restart"
    assert len(task2.history["loss"]) == 2 * steps and len(task2.history["val_loss"]) == 2


def test_best_checkpoint_by_val_loss_in_name(tmp_path):
    assert GenerationDeployArguments(downstream_model_dir=str(tmp_path / "missing")).downstream_model_checkpoint_fpath is None
    assert best_checkpoint_path(tmp_path) is None
    for name in ("epoch=0-step=5-val_loss=3.2000.ckpt", "epoch=1-step=10-val_loss=2.5000.ckpt",
                 "epoch=2-step=15-val_loss=2.7000.ckpt", "last.ckpt"):
        (tmp_path / name).write_bytes(b"")
        time.sleep(0.01)
    fpath = GenerationDeployArguments(downstream_model_dir=str(tmp_path)).downstream_model_checkpoint_fpath
    assert fpath.endswith("epoch=1-step=10-val_loss=2.5000.ckpt")


def test_engine_options_reach_lightning_and_mistakes_are_korean(tmp_path):
    defaults = GenerationTrainArguments()
    assert (defaults.accelerator, defaults.devices, defaults.num_nodes, defaults.strategy) == ("auto", "auto", 1, "auto")
    args = GenerationTrainArguments(downstream_model_dir=str(tmp_path), accelerator="cpu", devices="2", strategy="ddp")
    trainer = get_trainer(args, enable_progress_bar=False)  # building it launches nothing (fit would)
    assert (trainer.world_size, trainer.num_nodes, type(trainer.strategy).__name__) == (2, 1, "DDPStrategy")
    assert device_description(trainer) == "CPU 프로세스 2개 (전략 DDP, 프로세스 모두 2개)"
    for wrong in (dict(devices="0"), dict(strategy="no-such-strategy"), dict(num_nodes=0)):
        with pytest.raises(UserError, match="--accelerator, --devices, --num_nodes, --strategy를 확인하세요"):
            get_trainer(replace(args, **wrong), enable_progress_bar=False)


def test_arguments_have_help_texts():
    for cls in (GenerationTrainArguments, GenerationDeployArguments):
        texts = help_texts(cls)
        assert texts and all(texts.values()), f"{cls.__name__}: every field needs a help text"


def test_generate_reviews_returns_texts(tiny_model, tiny_tokenizer):
    texts = generate_reviews(tiny_model, tiny_tokenizer, "부정", num_samples=3, max_new_tokens=5, seed=0)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts)
    assert texts == generate_reviews(tiny_model, tiny_tokenizer, "부정", num_samples=3, max_new_tokens=5, seed=0)
