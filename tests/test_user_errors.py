"""Every wrong turn a user can take ends in a Korean sentence, fast: no raw traceback, no silent wait.

Each test does what the user did (in this process: ``run_main(main, argv)`` as the scripts'
``__main__`` blocks do) and checks the Korean message and the exit code. One subprocess runs the
real ``python -m kogpt2_course`` command line.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import load_step_module
from kogpt2_course.__main__ import main as course_main
from kogpt2_course.cli.arguments import UserError, display_width
from kogpt2_course.grading import grader, plugin
from kogpt2_course.grading.exercises import list_todos
from kogpt2_course.grading.script_runner import run_main
from kogpt2_course.lm import resolution
from kogpt2_course.lm.resolution import ModelChoiceError, resolve_model_name
from kogpt2_course.web import server as web_server
from kogpt2_course.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]


def load_script(relative: str):
    """A bench or tool script as a module (its ``main`` is what ``python <script>`` runs)."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(f"user_errors_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run_as_user(main, argv, capsys) -> tuple[int, str, str]:
    """Run ``main`` as its script does; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        run_main(main, argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return exit_info.value.code, out, err


@pytest.fixture
def no_network(monkeypatch):
    """A machine without internet: nothing cached, the hub does not answer (connection refused, at once)."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv(resolution.ENV_VAR, raising=False)
    monkeypatch.setattr(resolution, "model_in_cache", lambda name, cache_dir=None: False)
    monkeypatch.setattr(resolution, "HUB_CHECK_URL", "http://127.0.0.1:9/api/models/x")
    monkeypatch.setattr(resolution, "HUB_API_URL", "http://127.0.0.1:9/api/models/{name}")
    monkeypatch.setattr(resolution, "use_offline_mode", lambda: pytest.fail("nothing is cached: no offline mode"))


@pytest.fixture(scope="module")
def entry_points(tmp_path_factory):
    """name -> (main, argv before --model) for every command that takes --model (its port is free)."""
    nsmc = tmp_path_factory.mktemp("data") / "nsmc"
    nsmc.mkdir()
    for name in ("ratings_train.txt", "ratings_test.txt"):
        (nsmc / name).write_text("id\tdocument\tlabel\n1\t좋아요\t1\n", encoding="utf-8")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    points = {f"step{n}": (load_step_module(n, "solution", ROOT).main, []) for n in (1, 2, 3, 4, 5, 6, 7, 8)}
    points["step5"] = (points["step5"][0], ["--port", str(port)])
    points["step6"] = (points["step6"][0], ["train"])
    points["step6-generate"] = (points["step6"][0], ["generate"])
    points.update({
        "bench_generation_speed": (load_script("bench/bench_generation_speed.py").main, []),
        "bench_strategies": (load_script("bench/bench_strategies.py").main, []),
        "bench_web_load": (load_script("bench/bench_web_load.py").main, []),
        "bench_finetune": (load_script("bench/bench_finetune.py").main, ["--nsmc_dir", str(nsmc)]),
        "bench_style": (load_script("bench/bench_style.py").main, []),
        "bench_dialogue": (load_script("bench/bench_dialogue.py").main, []),
        "bench_lora": (load_script("bench/bench_lora.py").main, []),
        "bpc": (course_main, ["bpc", "--data", str(nsmc / "ratings_test.txt")]),
    })
    return points


def test_a_missing_model_folder_stops_every_command_before_loading(entry_points, capsys):
    """`--model ./models/typo-model`: was a hub-id traceback (`Repo id must be in the form ...`)."""
    for name, (main, argv) in entry_points.items():
        started = time.monotonic()
        code, out, err = run_as_user(main, [*argv, "--model", "./models/typo-model"], capsys)
        assert code == 2, name
        assert "[오류] --model 옵션의 폴더 './models/typo-model'이(가) 없습니다" in err, (name, err)
        assert "--model bundled" in err and "[모델 선택]" not in out, name
        assert time.monotonic() - started < 5, name


def test_a_folder_without_a_model(capsys):
    """`--model models`: was a traceback about sentencepiece/tiktoken."""
    code, _, err = run_as_user(load_step_module(1, "solution", ROOT).main, ["--model", "models"], capsys)
    assert code == 2
    assert "폴더 'models'에 모델이 없습니다" in err and "config.json" in err
    assert "이 폴더 안의 모델 폴더: models/kogpt2-tiny" in err, err


@pytest.mark.parametrize("choice,shown", [("hub", resolution.HUB_MODEL_NAME),
                                          ("some-user/no-such-model", "some-user/no-such-model")])
def test_a_hub_name_without_internet_fails_in_seconds(choice, shown, no_network, capsys):
    """Was 214 s of "Retrying" lines, then a traceback."""
    started = time.monotonic()
    with pytest.raises(ModelChoiceError) as error:
        resolve_model_name(choice)
    assert time.monotonic() - started < 5
    message = str(error.value)
    assert f"'{shown}'" in message and "허브에 연결할 수 없어" in message and "캐시에도 없습니다" in message
    assert "--model bundled" in message
    assert ("폴더라면 경로를 확인하세요" in message) == (choice != "hub")


def test_hf_hub_offline_is_named(no_network, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelChoiceError, match=r"오프라인 모드\(HF_HUB_OFFLINE\)"):
        resolve_model_name("some-user/no-such-model")


def test_a_name_the_hub_does_not_know(monkeypatch):
    monkeypatch.setattr(resolution, "model_in_cache", lambda name, cache_dir=None: False)
    monkeypatch.setattr(resolution, "offline_mode_set", lambda: False)
    monkeypatch.setattr(resolution, "probe_status", lambda url, timeout_s=0: 404)
    with pytest.raises(ModelChoiceError, match="허브에도 이 이름의 공개 모델이 없습니다"):
        resolve_model_name("some-user/no-such-model")


def test_a_cached_hub_model_loads_offline_without_retries(no_network, monkeypatch, capsys):
    monkeypatch.setattr(resolution, "model_in_cache", lambda name, cache_dir=None: True)
    offline = []
    monkeypatch.setattr(resolution, "use_offline_mode", lambda: offline.append(True))
    assert resolve_model_name("some-user/cached-model") == "some-user/cached-model"
    assert offline and "[모델 선택] some-user/cached-model" in capsys.readouterr().out


def test_the_environment_variable_is_checked_too(monkeypatch):
    monkeypatch.setenv(resolution.ENV_VAR, "./no-such-folder")
    with pytest.raises(ModelChoiceError, match=f"환경 변수 {resolution.ENV_VAR}의 폴더 './no-such-folder'"):
        resolve_model_name(None, verbose=False)


def test_a_busy_port_is_reported_before_the_url(capsys):
    """Step 5 while another demo holds the port: was the URL, then `OSError: [Errno 98]`."""
    with socket.socket() as other_demo:
        other_demo.bind(("127.0.0.1", 0))
        other_demo.listen()
        port = other_demo.getsockname()[1]
        step5 = load_step_module(5, "solution", ROOT)
        code, out, err = run_as_user(step5.main, ["--model", "bundled", "--port", str(port)], capsys)
        assert code == 2
        assert f"포트 {port}을(를) 이미 다른 프로그램이 쓰고 있습니다" in err and f"--port {port + 1}" in err, err
        assert "[모델 선택]" not in out, "the port is checked before the model is loaded"
        with pytest.raises(UserError, match="--port"):  # serve() itself checks too, before it prints the URL
            web_server.serve(create_app(lambda prompt, **p: prompt), port=port)
        assert "브라우저에서" not in capsys.readouterr().out


def test_pretraining_tool_help_and_missing_corpus(capsys, tmp_path):
    """`tools/pretrain_tiny_kogpt2.py --help` crashed (`%` in a help string)."""
    tool = load_script("tools/pretrain_tiny_kogpt2.py")
    with pytest.raises(SystemExit) as exit_info:
        tool.main(["--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "사용법:" in help_text and "(기본값: 12000)" in help_text and "말뭉치" in help_text
    code, _, err = run_as_user(tool.main, ["--corpus", str(tmp_path / "none.txt")], capsys)
    assert code == 2 and "말뭉치 파일이 없습니다" in err


def test_readme_commands_work_on_a_fresh_clone():
    """The retraining command redirected into work/, which a fresh clone does not have; bpc needs --data."""
    for doc in (ROOT / "README.md", ROOT / "models" / "kogpt2-tiny" / "README.md"):
        for line in doc.read_text(encoding="utf-8").splitlines():
            if "> work/" in line:
                assert "mkdir -p work &&" in line.split("> work/")[0], f"{doc.name}: {line.strip()}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert re.search(r"`python -m kogpt2_course bpc --model bundled --data [^`]+`", readme)


def test_bpc_without_nsmc_names_data(tmp_path, capsys):
    code, _, err = run_as_user(course_main, ["bpc", "--model", "bundled", "--data", str(tmp_path / "ratings_test.txt")],
                               capsys)
    assert code == 2 and "데이터 파일이 없습니다" in err and "--data로" in err


@pytest.mark.parametrize("name", ["step1", "step2", "step3", "step4", "step5", "step6", "step6-generate",
                                  "step7", "step8", "bench_generation_speed", "bench_strategies", "bench_web_load",
                                  "bench_finetune", "bench_style", "bench_dialogue", "bench_lora", "bpc"])
def test_every_help_shows_defaults_in_korean(name, entry_points, capsys):
    main, argv = entry_points[name]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv[:1 if name in ("bpc", "step6", "step6-generate") else 0], "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("사용법:") and "옵션:" in text and "이 도움말을 보여 주고 끝냅니다" in text
    assert "(기본값:" in text and "default" not in text.lower() and "usage" not in text.lower(), text


def test_grading_a_missing_folder(tmp_path, capsys):
    code, _, err = run_as_user(course_main, ["grade", "--course-dir", str(tmp_path / "student07")], capsys)
    assert code == 2 and "폴더가 없습니다" in err and "--course-dir" in err


def test_wrong_option_values_are_korean(capsys):
    step1 = load_step_module(1, "solution", ROOT)
    code, _, err = run_as_user(step1.main, ["--max_new_tokens", "many"], capsys)
    assert code == 2 and "--max_new_tokens: 'many'은(는) 정수가 아닙니다" in err and "사용법:" in err


def test_no_subcommand():
    """`python -m kogpt2_course` with no subcommand: was argparse's English error."""
    proc = subprocess.run([sys.executable, "-m", "kogpt2_course"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert "오류: 명령을 하나 지정하세요: grade, grade-class, hint, make-exercises, bpc" in proc.stderr, proc.stderr
    assert proc.stderr.startswith("사용법: python -m kogpt2_course") and "error" not in proc.stderr


def test_grade_table_fits_100_columns_and_wraps_long_reasons():
    """The table was ~145 columns wide and cut TODO 4-1/5-4's reasons mid-sentence."""
    longest = max((todo for step in (4, 5) for todo in list_todos(step)), key=lambda t: len(t.hint))
    reason = f"TODO {longest.todo_id} 미완성: {longest.hint}"
    report = SimpleNamespace(longrepr=SimpleNamespace(reprcrash=SimpleNamespace(message=f"NotImplementedError: {reason}")))
    assert plugin._reason(report) == reason, "the plugin must keep the whole reason"
    results = [grader.TestResult(4, longest.todo_id, "학습 설정: GenerationTrainArguments에 명령행 값과 학습률 "
                                                     "(아주 긴 테스트 이름이 되도록 덧붙인 설명)", 2, 0, reason),
               grader.TestResult(4, "4-2", "데이터셋", 1, 1, "")]
    table = grader.format_table(results)
    widths = [display_width(line) for line in table.splitlines()]
    assert max(widths) <= grader.TABLE_WIDTH, table
    assert " ".join(reason.split()) in " ".join(table.split()), "the reason must be wrapped, not cut"
    assert "Step 4 합계" in table and "총점: 1/3" in table


def test_step8_data_adapter_and_option_mistakes(tmp_path, capsys):
    """Step 8: a missing data file, `chat` before any training, a rank of 0 — each one Korean line, exit 2."""
    step8 = load_step_module(8, "solution", ROOT).main
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    for argv, message in (
            (["--model", "bundled", "--train_file", str(tmp_path / "none.json")], "데이터 파일이 없습니다"),
            (["--model", "bundled", "--train_file", str(tmp_path / "bad.json")], "JSON으로 읽을 수 없습니다"),
            (["chat", "--output_dir", str(tmp_path / "empty")], "저장된 어댑터가 없습니다"),
            (["chat", "--adapter", str(tmp_path)], "LoRA 어댑터가 없습니다"),
            (["--lora_rank", "0"], "--lora_rank은(는) 1 이상이어야 합니다")):
        code, _, err = run_as_user(step8, argv, capsys)
        assert code == 2 and message in err, (argv, err)
