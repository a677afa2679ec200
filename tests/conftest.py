"""Shared fixtures of the autograder.

The same step tests run against the solutions (default) or the student files:
    pytest                                   # solutions
    pytest --target student                  # student files in the project folder
    pytest --target student --course-dir D   # a student's copy of the course in folder D
(or the environment variables COURSE_TARGET / COURSE_DIR). ``python -m kogpt2_course grade``
runs these tests against the student files and prints the Korean score table.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from kogpt2_course.grading.exercises import STEP_FILES
from kogpt2_course.lm.resolution import BUNDLED_MODEL_DIR

ROOT = Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.addoption("--target", choices=["solution", "student"],
                     default=os.environ.get("COURSE_TARGET", "solution"),
                     help="채점 대상: solution(정답) 또는 student(학생 파일)")
    parser.addoption("--course-dir", default=os.environ.get("COURSE_DIR", str(ROOT)),
                     help="학생 파일(stepN_*.py)이 있는 폴더")


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # ``pytest -n 2`` on two cores: one torch thread per worker, not two each (oversubscribed).
        import torch

        torch.set_num_threads(1)
    config.addinivalue_line("markers", "todo(todo_id, points=1): 이 테스트가 채점하는 TODO 번호와 배점")
    config.addinivalue_line("markers", "solution_only: 정답 파일에만 있는 확장 예제 (학생 채점에서는 건너뜀)")
    config.addinivalue_line("markers", "distributed: 2-프로세스 분산 학습 증명 (시간이 걸려 pytest에서 빠지고, "
                                       "pytest -m distributed로 따로 실행; .ci/run이 돌림)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--target") != "student":
        return
    skip = pytest.mark.skip(reason="정답 전용 확장 예제는 학생 채점에서 제외됩니다")
    for item in items:
        if item.get_closest_marker("solution_only"):
            item.add_marker(skip)


def step_file(step: int, target: str, course_dir: Path) -> Path:
    if target == "solution":
        return course_dir / "solutions" / f"step{step}_solution.py"
    return course_dir / STEP_FILES[step]


IMPORT_TIME_LIMIT_S = 60


class ImportTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int):
    """SIGALRM-based limit (main thread, POSIX) so a module-level infinite loop cannot hang grading."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum, frame):
        raise ImportTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def load_step_module(step: int, target: str, course_dir: Path):
    """Import a step file under a unique module name; any failure becomes a Korean test failure."""
    path = step_file(step, target, course_dir)
    if not path.exists():
        pytest.fail(f"Step {step} 파일이 없습니다: {path}", pytrace=False)
    name = f"course_{target}_step{step}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with time_limit(IMPORT_TIME_LIMIT_S):
            spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except ImportTimeout:
        pytest.fail(f"{path.name}: 파일을 불러오는 데 {IMPORT_TIME_LIMIT_S}초가 넘게 걸립니다 — "
                    f"모듈 수준에 무한 루프나 무거운 실행 코드가 없는지 확인하세요", pytrace=False)
    except SystemExit as exc:
        pytest.fail(f"{path.name}: 파일을 불러오는 중에 sys.exit({exc.code})가 호출되었습니다. "
                    f"실행 코드는 if __name__ == '__main__': 아래에 두세요.", pytrace=False)
    except BaseException as exc:  # SyntaxError, ImportError, a raise at module level, ...
        pytest.fail(f"{path.name}: 파일을 불러올 수 없습니다 — {type(exc).__name__}: {exc}", pytrace=False)
    return module


@pytest.fixture(scope="module")
def step(request):
    """The module under test: the solution or the student file of the test module's STEP."""
    config = request.config
    return load_step_module(request.module.STEP, config.getoption("--target"),
                            Path(config.getoption("--course-dir")).resolve())


@pytest.fixture(scope="session")
def bundled_dir() -> str:
    return str(BUNDLED_MODEL_DIR)


@pytest.fixture(scope="session")
def kogpt2_like_dir(tmp_path_factory, bundled_dir) -> str:
    """The bundled tokenizer in a folder configured like the real KoGPT2 (skt/kogpt2-base-v2): no
    tokenizer_config.json and a config.json that names no bos/eos/pad, so only the special-token
    arguments of from_pretrained make '</s>' the bos/eos token and '<pad>' the pad token."""
    import json
    import shutil

    folder = tmp_path_factory.mktemp("kogpt2-like")
    shutil.copy(Path(bundled_dir) / "tokenizer.json", folder / "tokenizer.json")
    config = json.loads((Path(bundled_dir) / "config.json").read_text(encoding="utf-8"))
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        config.pop(key, None)
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(folder)


@pytest.fixture(scope="session")
def tiny_model(bundled_dir):
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel.from_pretrained(bundled_dir).eval()


@pytest.fixture(scope="session")
def tiny_tokenizer(bundled_dir):
    from transformers import PreTrainedTokenizerFast

    from kogpt2_course.lm.special_tokens import TOKENIZER_KWARGS

    return PreTrainedTokenizerFast.from_pretrained(bundled_dir, **TOKENIZER_KWARGS)


@pytest.fixture(scope="session")
def full_length_model(tiny_model, tiny_tokenizer):
    """The bundled model with eos suppressed, so every generation runs to its full length."""
    model = copy.deepcopy(tiny_model)
    model.generation_config.suppress_tokens = [tiny_tokenizer.eos_token_id]
    return model


@pytest.fixture(scope="session")
def sampling_by_default(full_length_model):
    """The full-length model with a generation config that samples by default, as many hub models ship:
    a greedy or beam-search answer must ask for it (do_sample=False) rather than rely on the default."""
    model = copy.deepcopy(full_length_model)
    model.generation_config.do_sample = True
    return model


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small generations are much faster on one thread when the CPU is shared; restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
