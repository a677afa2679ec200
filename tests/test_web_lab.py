"""The web demo's classroom-lab features (kogpt2_course.web): content filter, live tokens (server-sent
events), batching, Step 4's control prefix side by side, A/B votes in SQLite — through Flask's test client,
with the bundled tiny model where generation matters and a fake inference_fn where it does not."""

from __future__ import annotations

import copy
import csv
import itertools
import json
import re
import threading
import time

import pytest
import torch

from kogpt2_course.nlpbook.generation.inference import sentiment_prompt_ids
from kogpt2_course.web.app import create_app
from kogpt2_course.web.batching import Batcher, Overloaded
from kogpt2_course.web.content_filter import ContentFilter, token_spellings
from kogpt2_course.lm.decoding import continuation_text
from kogpt2_course.web.engine import ContinuationStreamer, GenerationEngine
from kogpt2_course.web.params import ParameterError
from kogpt2_course.web.votes import VoteStore, wilson_interval

HANGUL = re.compile(r"[가-힣]")
GREEDY = {"do_sample": False, "num_beams": 1, "repetition_penalty": 1.0, "no_repeat_ngram_size": 0}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def fake_inference(prompt, **p):
    """Says which setting made it, so a test can tell the A/B sides apart."""
    return f"{prompt} 샘플링={p['do_sample']} 빔={p['num_beams']}"


def events_of(chunks) -> list[tuple[str, dict]]:
    """(event name, data) of each server-sent event in ``chunks`` (bytes or str pieces of the body)."""
    text = "".join(c.decode("utf-8") if isinstance(c, bytes) else c for c in chunks)
    events = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def next_event(chunk_iter) -> tuple[str, dict]:
    return events_of([next(chunk_iter)])[0]


def generation_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "web-stream-generate" and t.is_alive()]


def contains(sequence: list[int], part: list[int]) -> bool:
    return any(sequence[i:i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


@pytest.fixture(scope="module")
def engine(full_length_model, tiny_tokenizer):
    return GenerationEngine(full_length_model, tiny_tokenizer)


@pytest.fixture
def slow_model(full_length_model):
    """The full-length model taking ≥ 10 ms a step, so a stream is still running when the test acts."""
    model = copy.deepcopy(full_length_model)
    model.register_forward_pre_hook(lambda module, args: time.sleep(0.01))
    return model


# ---------------------------------------------------------------- content filter

def test_word_list_file_spellings_and_masking(tmp_path, tiny_tokenizer):
    path = tmp_path / "금지어.txt"
    path.write_text("# 강사용 목록\n\n  바보 \n바보\nABC\n", encoding="utf-8")
    words = ContentFilter.from_file(path)
    assert words.words == ["바보", "ABC"], "주석·빈 줄을 건너뛰고 낱말마다 한 번"
    spellings = token_spellings(tiny_tokenizer, "바보")
    assert tiny_tokenizer.encode(" 바보") in spellings, "낱말 첫머리(앞에 공백/▁)의 철자를 막아야 합니다"
    assert len(spellings) >= 2 and all(tiny_tokenizer.decode(s).strip() == "바보" for s in spellings), \
        "낱말 가운데(▁ 없는)의 철자도 막아야 합니다"
    assert words.mask("너 바보야, abc!") == "너 **야, ***!"
    with pytest.raises(ParameterError) as info:
        words.check_prompt("그 ＡＢＣ 영화")  # full-width letters are the same word (NFKC)
    assert info.value.field == "prompt" and HANGUL.search(info.value.message)
    assert words.check_prompt("바 보") == "바 보"
    with pytest.raises(ValueError, match="금지어 파일이 없습니다"):
        ContentFilter.from_file(tmp_path / "없음.txt")


def test_bad_words_ids_keep_the_word_out_of_generation(full_length_model, tiny_tokenizer):
    tok = tiny_tokenizer
    ids = tok.encode("이 영화", return_tensors="pt")

    def greedy(**extra):
        with torch.no_grad():
            out = full_length_model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=16,
                                             pad_token_id=tok.pad_token_id, **GREEDY, **extra)
        return out[0, ids.shape[1]:].tolist()

    plain = greedy()
    words = [w for w in tok.decode(plain).split() if HANGUL.fullmatch(w)]
    word = next((w for w in words if any(contains(plain, s) for s in token_spellings(tok, w))), None)
    assert word is not None, f"그리디 결과에서 막을 낱말을 찾지 못했습니다: {tok.decode(plain)!r}"
    blocked_kwargs = ContentFilter([word]).generate_kwargs(tok)
    blocked = greedy(**blocked_kwargs)
    assert blocked != plain
    assert not any(contains(blocked, s) for s in blocked_kwargs["bad_words_ids"]), \
        f"금지어 '{word}'의 토큰 열이 생성되었습니다"


def test_filter_on_every_endpoint(tmp_path, full_length_model, tiny_tokenizer):
    tok = tiny_tokenizer
    model = copy.deepcopy(full_length_model)
    words = ContentFilter(["바보"])
    words.apply_to(model, tok)  # the Step 5 inference_fn's own generate calls
    seen = []
    generate = model.generate

    def spy(*args, **kwargs):
        seen.append(kwargs.get("bad_words_ids", model.generation_config.bad_words_ids))
        return generate(*args, **kwargs)

    model.generate = spy

    def inference(prompt, **p):
        ids = tok.encode(prompt, return_tensors="pt")
        return tok.decode(model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=p["max_new_tokens"],
                                         pad_token_id=tok.pad_token_id)[0], skip_special_tokens=True)

    app = create_app(inference, engine=GenerationEngine(model, tok, content_filter=words), control=True,
                     content_filter=words, votes=VoteStore(tmp_path / "votes.sqlite3"),
                     next_token_fn=lambda prompt, k: [{"token": "바보", "probability": 1.0}])
    client = app.test_client()
    for url, body in [("/api", {"prompt": "너 바보"}), ("/api/stream", {"prompt": "바보야"}),
                      ("/api/ab", {"prompt": "이 바보", "a": "greedy", "b": "review"}),
                      ("/api/next-tokens", {"prompt": "바보 같은"})]:
        response = client.post(url, json=body)
        assert response.status_code == 400, f"{url}: 금지어 프롬프트는 400이어야 합니다"
        assert response.get_json()["field"] == "prompt" and HANGUL.search(response.get_json()["error"])
    assert seen == [], "금지어 프롬프트로 생성하면 안 됩니다"
    short = {"max_new_tokens": 3, **GREEDY}
    assert client.post("/api", json={"prompt": "이 영화", **short}).status_code == 200  # alone: inference_fn
    assert client.post("/api", json={"prompt": "이 영화", "control": "긍정", **short}).status_code == 200  # engine
    events = events_of(client.post("/api/stream", json={"prompt": "이 영화", **short}).response)
    assert events[-1][0] == "done"
    ab = client.post("/api/ab", json={"prompt": "이 영화", "a": short, "b": {**short, "num_beams": 2}})
    assert ab.status_code == 200
    assert len(seen) == 5 and all(ids == words.bad_words_ids(tok) for ids in seen), \
        "모든 생성(/api 혼자·묶음, /api/stream, /api/ab)이 bad_words_ids를 받아야 합니다"
    candidates = client.post("/api/next-tokens", json={"prompt": "이 영화", "k": 1}).get_json()["candidates"]
    assert candidates[0]["token"] == "**", "다음 토큰 후보에서도 금지어는 가립니다"


# ---------------------------------------------------------------- live tokens (server-sent events)

def test_stream_sends_tokens_then_exactly_one_final_event(engine, tiny_tokenizer):
    client = create_app(fake_inference, engine=engine).test_client()
    response = client.post("/api/stream", json={"prompt": "이 영화", "max_new_tokens": 12, "min_new_tokens": 12,
                                                **GREEDY})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = events_of([response.get_data()])
    names = [name for name, _ in events]
    assert names[0] == "start" and names[-1] == "done" and names.count("done") == 1 and "token" in names
    final = events[-1][1]
    expected = engine.generate([engine.prompt_ids("이 영화")], {"max_new_tokens": 12, "min_new_tokens": 12, **GREEDY})
    assert final["text"] == expected[0] and final["stopped"] is False
    streamed = "".join(data["text"] for name, data in events if name == "token")
    assert streamed.rstrip() == final["text"][len("이 영화"):], "조각을 이으면 새 글이어야 합니다 (첫 낱말 앞 공백까지)"
    assert events[0][1]["params"] == {"max_new_tokens": 12, "min_new_tokens": 12, **GREEDY}


@pytest.mark.parametrize("new_text", [" 정말 재밌다", "\n 정말\n재밌다 😤 끝"])
def test_streamed_pieces_keep_the_spaces_between_words(tiny_tokenizer, new_text):
    """A sentencepiece decoder drops the leading space of what it decodes: the first word and the word after a
    newline must still come with their space, and the pieces must join up to the continuation decoded at once."""
    prompt_ids = tiny_tokenizer.encode("이 영화")
    new_ids = tiny_tokenizer.encode("이 영화" + new_text)[len(prompt_ids):]
    streamer = ContinuationStreamer(tiny_tokenizer, prompt_ids, timeout=5, skip_special_tokens=True)
    streamer.put(torch.tensor([prompt_ids]))
    for token_id in new_ids:
        streamer.put(torch.tensor([token_id]))
    streamer.end()
    streamed = "".join(streamer)
    assert streamed == continuation_text(tiny_tokenizer, "이 영화", new_ids)
    assert streamed.startswith(new_text[0]), streamed


def test_stop_button_ends_the_stream_early(slow_model, tiny_tokenizer):
    client = create_app(fake_inference, engine=GenerationEngine(slow_model, tiny_tokenizer)).test_client()
    response = client.post("/api/stream", json={"prompt": "이 영화", "max_new_tokens": 100, "min_new_tokens": 100,
                                                **GREEDY}, buffered=False)
    chunks = iter(response.response)
    name, start = next_event(chunks)
    assert name == "start" and next_event(chunks)[0] == "token"
    assert client.post("/api/stop", json={"id": start["id"]}).get_json()["ok"]
    rest = events_of(chunks)
    response.close()
    assert rest[-1][0] == "done" and rest[-1][1]["stopped"] is True
    assert len(tiny_tokenizer.encode(rest[-1][1]["text"])) < 60, "멈춤 뒤에는 곧 끝나야 합니다"
    assert client.post("/api/stop", json={"id": start["id"]}).status_code == 404, "끝난 생성은 멈출 수 없습니다"
    assert not generation_threads()


def test_client_going_away_stops_generation_and_frees_the_turn(slow_model, tiny_tokenizer):
    app = create_app(fake_inference, engine=GenerationEngine(slow_model, tiny_tokenizer), max_waiting=0)
    client = app.test_client()
    response = client.post("/api/stream", json={"prompt": "이 영화", "max_new_tokens": 100, "min_new_tokens": 100,
                                                **GREEDY}, buffered=False)
    chunks = iter(response.response)
    assert next_event(chunks)[0] == "start"
    busy = client.post("/api/stream", json={"prompt": "배우들"})
    assert busy.status_code == 503 and HANGUL.search(busy.get_json()["error"]), "차례를 쥔 스트림이 있으면 503"
    next_event(chunks)
    began = time.perf_counter()
    response.close()  # what the server sees when the browser tab closes
    assert time.perf_counter() - began < 0.5 and not generation_threads(), "생성 스레드를 멈추고 join해야 합니다"
    again = client.post("/api/stream", json={"prompt": "배우들", "max_new_tokens": 2, **GREEDY})
    assert again.status_code == 200 and events_of([again.get_data()])[-1][0] == "done", "차례가 풀려야 합니다"


def test_errors_and_timeouts_end_the_stream_with_a_final_event(full_length_model, tiny_tokenizer):
    def crash_at_step_3():
        steps = itertools.count(1)

        def hook(module, args):
            if next(steps) == 3:
                raise RuntimeError("secret internal detail")
        return hook

    def slow_after_step_1():
        steps = itertools.count(1)

        def hook(module, args):
            if next(steps) > 1:
                time.sleep(0.3)
        return hook

    body = {"prompt": "이 영화", "max_new_tokens": 20, "min_new_tokens": 20, **GREEDY}
    for hook, timeout_s, expected in [(crash_at_step_3(), 30.0, "서버 내부 오류"),
                                      (slow_after_step_1(), 0.1, "초 동안 새 토큰이 없어")]:
        model = copy.deepcopy(full_length_model)
        model.register_forward_pre_hook(hook)
        client = create_app(fake_inference, engine=GenerationEngine(model, tiny_tokenizer),
                            stream_timeout_s=timeout_s).test_client()
        events = events_of([client.post("/api/stream", json=body).get_data()])
        names = [name for name, _ in events]
        assert names[0] == "start" and names[-1] == "error" and "done" not in names, names
        assert expected in events[-1][1]["error"] and "secret" not in events[-1][1]["error"]
        assert not generation_threads(), "생성 스레드를 멈추고 join해야 합니다"


def test_stream_and_stop_bad_inputs(engine):
    client = create_app(fake_inference, engine=engine).test_client()
    for body, field in [({"prompt": "a", "top_p": 2}, "top_p"), ({"prompt": ""}, "prompt"),
                        ({"prompt": "a", "control": "긍정"}, "control"), ({"prompt": "a", "model": "pretrained"}, "model"),
                        ({"prompt": "a", "control": "행복"}, "control"), ({"prompt": "a", "stream": True}, "stream")]:
        response = client.post("/api/stream", json=body)
        assert response.status_code == 400 and response.get_json()["field"] == field, (body, response.get_json())
    for body, status in [({}, 400), ({"id": 3}, 400), ({"id": "없는-스트림"}, 404), ({"id": "x", "more": 1}, 400)]:
        response = client.post("/api/stop", json=body)
        assert response.status_code == status and HANGUL.search(response.get_json()["error"]), body
    without = create_app(fake_inference).test_client().post("/api/stream", json={"prompt": "a"})
    assert without.status_code == 404 and HANGUL.search(without.get_json()["error"])


# ---------------------------------------------------------------- Step 4 control, side by side, batching

def test_control_prefix_and_pretrained_side_by_side(engine, tiny_model, tiny_tokenizer):
    tok = tiny_tokenizer
    app = create_app(fake_inference, engine=engine, baseline_engine=GenerationEngine(tiny_model, tok), control=True)
    client = app.test_client()
    inputs = {}
    for control in ("긍정", "부정", "없음"):
        reply = client.post("/api", json={"prompt": "이 영화", "control": control, "max_new_tokens": 4, **GREEDY})
        assert reply.status_code == 200
        inputs[control] = reply.get_json()["model_input"]
    for control in ("긍정", "부정"):
        prefix = sentiment_prompt_ids(tok, control)[0].tolist()
        ids, shown_from = engine.prompt_ids("이 영화", control)
        assert ids[:len(prefix)] == prefix and shown_from == len(prefix), "Step 4의 시작 </s>긍정 뒤에 프롬프트"
        assert inputs[control] == engine.model_input(ids)
    assert inputs["없음"] == engine.model_input(tok.encode("이 영화"))
    pretrained = client.post("/api", json={"prompt": "이 영화", "control": "긍정", "model": "pretrained",
                                           "max_new_tokens": 4, **GREEDY}).get_json()
    assert pretrained["model"] == "pretrained" and pretrained["model_input"] == inputs["긍정"]
    assert pretrained["text"].startswith("이 영화")
    page = client.get("/").get_data(as_text=True)
    assert 'id="control"' in page and 'id="compare"' in page and 'id="stop"' in page


def test_batched_generation_equals_one_at_a_time(engine):
    options = {"max_new_tokens": 8, "min_new_tokens": 8, **GREEDY}
    requests = [engine.prompt_ids("이 영화"), engine.prompt_ids("배우들 연기가 정말 좋은", "긍정"),
                engine.prompt_ids("오늘", "부정")]
    alone = [engine.generate([r], options)[0] for r in requests]
    assert engine.generate(requests, options) == alone, "왼쪽 패딩과 어텐션 마스크로 묶어도 결과가 같아야 합니다"


def test_batcher_groups_compatible_requests_and_refuses_when_full():
    release, calls = threading.Event(), []

    def run(key, payloads):
        calls.append((key, list(payloads)))
        release.wait(5)
        return [f"{key}:{p}" for p in payloads]

    batcher = Batcher(run, max_batch=3, max_waiting=5, timeout_s=5)
    results = {}

    def submit(key, payload):
        try:
            results[payload] = batcher.submit(key, payload)
        except Overloaded as exc:
            results[payload] = exc

    threads = [threading.Thread(target=submit, args=("가", 0))]
    threads[0].start()
    while not calls:
        time.sleep(0.005)
    for key, payload in [("가", 1), ("나", 2), ("가", 3), ("가", 4), ("가", 5)]:
        threads.append(threading.Thread(target=submit, args=(key, payload)))
        threads[-1].start()
        while batcher.waiting < payload:  # keep the arrival order
            time.sleep(0.005)
    with pytest.raises(Overloaded, match="대기열이 가득"):
        batcher.submit("가", 6)
    release.set()
    for thread in threads:
        thread.join(5)
    assert [c[1] for c in calls] == [[0], [1, 3, 4], [2], [5]], "같은 설정끼리, max_batch개까지, 먼저 온 순서로"
    assert results == {n: f"{'나' if n == 2 else '가'}:{n}" for n in range(6)}


def test_full_batching_queue_answers_503_in_korean(slow_model, tiny_tokenizer):
    app = create_app(fake_inference, engine=GenerationEngine(slow_model, tiny_tokenizer), control=True, max_waiting=0)
    body = {"prompt": "이 영화", "control": "긍정", "max_new_tokens": 30, "min_new_tokens": 30, **GREEDY}
    results = []
    first = threading.Thread(target=lambda: results.append(app.test_client().post("/api", json=body).status_code))
    first.start()
    while not app.extensions["batcher"].running:
        time.sleep(0.005)
    busy = app.test_client().post("/api", json=body)
    first.join(10)
    assert busy.status_code == 503 and busy.headers.get("Retry-After") and HANGUL.search(busy.get_json()["error"])
    assert results == [200]


# ---------------------------------------------------------------- A/B votes

# 95% Wilson intervals from SciPy 1.17 (binomtest(k, n).proportion_ci(method="wilson")), as the reference
WILSON_1_OF_4 = (0.04558726080970055, 0.6993581574175981)
WILSON_0_OF_5 = (0.0, 0.43448246478317476)
WILSON_30_OF_40 = (0.5980603857923197, 0.858128813609037)


def test_concurrent_votes_are_all_counted_and_survive_a_restart(tmp_path):
    path = tmp_path / "votes.sqlite3"
    app = create_app(fake_inference, votes=VoteStore(path))
    client = app.test_client()
    n_clients, n_votes = 5, 4
    trials, greedy_first = [], set()
    for _ in range(n_clients * n_votes):
        reply = client.post("/api/ab", json={"prompt": "이 영화", "a": "greedy", "b": "review"}).get_json()
        assert "그리디" not in json.dumps(reply, ensure_ascii=False), "투표 전에는 설정 이름을 보이면 안 됩니다"
        trials.append(reply["trial_id"])
        greedy_first.add("샘플링=False" in reply["A"])
    assert greedy_first == {True, False}, "A/B 자리는 무작위여야 합니다"
    start, failures = threading.Barrier(n_clients), []

    def voter(number):
        own = app.test_client()
        start.wait()
        for i in range(n_votes):
            choice = ("A", "B", "same")[(number + i) % 3]
            reply = own.post("/api/vote", json={"trial_id": trials[number * n_votes + i], "choice": choice})
            if reply.status_code != 200:
                failures.append(reply.get_json())

    threads = [threading.Thread(target=voter, args=(n,)) for n in range(n_clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == [] and VoteStore(path).count_votes() == n_clients * n_votes
    restarted = create_app(fake_inference, votes=VoteStore(path)).test_client().get("/api/results").get_json()
    assert restarted["votes"] == n_clients * n_votes == sum(pair["votes"] for pair in restarted["pairs"])


def test_results_win_rate_wilson_interval_and_export(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite3")
    for shown_first, choice in [(True, "A"), (False, "B"), (True, "A"), (False, "A"), (True, "same")]:
        sides = [("높은 온도", {"temperature": 1.3}, "글1"), ("낮은 온도", {"temperature": 0.5}, "글2")]
        if not shown_first:
            sides.reverse()
        store.add_vote(store.add_trial("이 영화", *sides[0], *sides[1]), choice)
    [pair] = store.results()
    assert (pair["first"], pair["second"]) == ("낮은 온도", "높은 온도")
    assert (pair["first_wins"], pair["second_wins"], pair["ties"], pair["votes"]) == (1, 3, 1, 5)
    assert pair["first_win_rate"] == 0.25
    assert (pair["ci_low"], pair["ci_high"]) == pytest.approx(WILSON_1_OF_4, abs=1e-9)
    assert wilson_interval(0, 5) == pytest.approx(WILSON_0_OF_5, abs=1e-9)
    assert wilson_interval(30, 40) == pytest.approx(WILSON_30_OF_40, abs=1e-9)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    exported = tmp_path / "votes.csv"
    assert store.export_csv(exported) == 5
    with open(exported, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5 and rows[0]["prompt"] == "이 영화" and {r["choice"] for r in rows} == {"A", "B", "same"}
    page = create_app(fake_inference, votes=store).test_client().get("/results").get_data(as_text=True)
    assert "낮은 온도" in page and "25%" in page and f"{100 * WILSON_1_OF_4[0]:.0f}%" in page


def test_malformed_ab_requests_and_votes_are_korean_4xx(tmp_path):
    client = create_app(fake_inference, votes=VoteStore(tmp_path / "votes.sqlite3")).test_client()
    trial = client.post("/api/ab", json={"prompt": "이 영화", "a": "greedy", "b": {"do_sample": True}}).get_json()
    assert trial["ok"]
    bad_ab = [({"prompt": "a", "a": "greedy"}, "b"), ({"prompt": "a", "a": "빠르게", "b": "review"}, "a"),
              ({"prompt": "a", "a": {"top_p": 2}, "b": "review"}, "a.top_p"),
              ({"prompt": "a", "a": {"prompt": "b"}, "b": "review"}, "a"),
              ({"prompt": "a", "a": "greedy", "b": "greedy"}, "b"), ({"a": "greedy", "b": "review"}, "prompt"),
              ({"prompt": "a", "a": "greedy", "b": "review", "c": "factual"}, "c"),
              ({"prompt": "a", "a": "greedy", "b": "review", "control": "긍정"}, "control")]
    bad_votes = [({"choice": "A"}, 400, "trial_id"), ({"trial_id": 5, "choice": "A"}, 400, "trial_id"),
                 ({"trial_id": "없는-비교", "choice": "A"}, 404, "trial_id"),
                 ({"trial_id": trial["trial_id"], "choice": "C"}, 400, "choice"),
                 ({"trial_id": trial["trial_id"]}, 400, "choice"),
                 ({"trial_id": trial["trial_id"], "choice": "A", "who": "나"}, 400, "who"),
                 (["A"], 400, "body")]
    cases = [("/api/ab", body, 400, field) for body, field in bad_ab] + [("/api/vote", *case) for case in bad_votes]
    for url, body, status, field in cases:
        reply = client.post(url, json=body)
        data = reply.get_json()
        assert reply.status_code == status and data["field"] == field, (url, body, data)
        assert field in data["error"] and HANGUL.search(data["error"])
    assert client.post("/api/vote", data="A", content_type="text/plain").status_code == 400
    assert client.post("/api/vote", json={"trial_id": trial["trial_id"], "choice": "same"}).status_code == 200
    again = client.post("/api/vote", json={"trial_id": trial["trial_id"], "choice": "A"})
    assert again.status_code == 409 and HANGUL.search(again.get_json()["error"]), "한 비교에는 한 표"
    assert client.get("/api/results").get_json()["votes"] == 1
    no_votes = create_app(fake_inference).test_client()
    assert no_votes.post("/api/ab", json={"prompt": "a", "a": "greedy", "b": "review"}).status_code == 404
    assert no_votes.get("/results").status_code == 404


def test_step5_main_wires_the_lab_and_exports_votes(tmp_path, monkeypatch, tiny_model, bundled_dir):
    """``python step5_web_service.py`` with a Step 4 checkpoint: control, side by side, votes and the word list
    are on; ``--export`` writes the votes without loading a model."""
    from conftest import ROOT, load_step_module

    step5 = load_step_module(5, "solution", ROOT)
    store = VoteStore(tmp_path / "votes.sqlite3")
    store.add_vote(store.add_trial("이 영화", "가", {}, "글1", "나", {}, "글2"), "B")
    step5.main(["--votes_db", str(store.path), "--export", str(tmp_path / "votes.csv"), "--model", "없는-모델"])
    assert len((tmp_path / "votes.csv").read_text(encoding="utf-8-sig").splitlines()) == 2

    checkpoints = tmp_path / "step4"
    checkpoints.mkdir()
    state = {f"model.{key}": value for key, value in tiny_model.state_dict().items()}
    torch.save({"state_dict": state}, checkpoints / "epoch=0-step=1-val_loss=1.0000.ckpt")
    (tmp_path / "words.txt").write_text("바보\n", encoding="utf-8")
    served = {}
    monkeypatch.setattr(step5, "run_server", lambda app, **kw: served.update(app=app))
    monkeypatch.setattr(step5, "check_port", lambda host, port: None)
    step5.main(["--model", bundled_dir, "--downstream_model_dir", str(checkpoints), "--votes_db", str(store.path),
                "--blocked_words", str(tmp_path / "words.txt"), "--device", "cpu"])
    health = served["app"].test_client().get("/health").get_json()
    assert (health["streaming"], health["control"], health["compare"], health["votes"], health["blocked_words"]) == \
        (True, True, True, True, 1)
