"""The web demo in a real browser: Debian's headless Chromium driven by Selenium (no browser download).

The app (bundled model, a few new tokens) is served by waitress on 127.0.0.1 on a free port in a
thread of this test process. Screenshots go to outputs/screenshots/. Skips cleanly, with the
reason, when chromium or chromedriver is not installed.
"""

from __future__ import annotations

import copy
import shutil
import threading
import time
from pathlib import Path

import pytest
import torch

from kogpt2_course.lm.decoding import generate_ids
from kogpt2_course.web.app import create_app
from kogpt2_course.web.engine import GenerationEngine
from kogpt2_course.web.server import BackgroundServer
from kogpt2_course.web.votes import VoteStore

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT_DIR = ROOT / "outputs" / "screenshots"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run"]
XSS_PROMPT = "<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\">이 영화"

selenium = pytest.importorskip("selenium", reason="selenium이 설치되어 있지 않습니다")
if not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()):
    pytest.skip(f"브라우저 테스트를 건너뜁니다: chromium({CHROMIUM}) 또는 chromedriver({CHROMEDRIVER})가 없습니다 "
                f"(Debian: apt-get install chromium chromium-driver)", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


class GatedModel:
    """A forward pre-hook on the served model: ``hold()`` stops the next generation step until ``release()``;
    ``delay_s`` slows every step (so a stream is visibly under way). Covers /api and /api/stream alike."""

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.delay_s = 0.0

    def hold(self):
        self.gate.clear()
        self.entered.clear()

    def release(self):
        self.gate.set()

    def __call__(self, module, args):
        self.entered.set()
        self.gate.wait(30)
        if self.delay_s:
            time.sleep(self.delay_s)


def make_inference(model, tokenizer):
    def inference(prompt, **p):
        sampling = dict(top_p=p["top_p"], top_k=p["top_k"], temperature=p["temperature"]) if p["do_sample"] else {}
        output = generate_ids(model, tokenizer, prompt, max_new_tokens=p["max_new_tokens"],
                              min_new_tokens=p["min_new_tokens"], do_sample=p["do_sample"], num_beams=p["num_beams"],
                              repetition_penalty=p["repetition_penalty"],
                              no_repeat_ngram_size=p["no_repeat_ngram_size"], **sampling)
        return tokenizer.decode(output[0], skip_special_tokens=True)

    return inference


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def inference():
    """The served model's gate (the name is kept from the days when only inference_fn generated)."""
    return GatedModel()


@pytest.fixture(scope="module")
def server(inference, tiny_model, tiny_tokenizer, tmp_path_factory):
    def next_tokens(prompt, k):
        ids = tiny_tokenizer.encode(prompt, return_tensors="pt")
        with torch.no_grad():
            probs = tiny_model(ids).logits[0, -1].softmax(-1)
        top = probs.topk(k)
        return [{"token": tiny_tokenizer.decode([i]), "probability": v}
                for i, v in zip(top.indices.tolist(), top.values.tolist())]

    served = copy.deepcopy(tiny_model)  # stands in for a Step 4 checkpoint; the pretrained one is shown beside it
    served.register_forward_pre_hook(inference)
    app = create_app(make_inference(served, tiny_tokenizer), model_name="models/kogpt2-tiny", next_token_fn=next_tokens,
                     notice="테스트 알림: 미세 조정 체크포인트 없이 번들 모델을 씁니다.",
                     engine=GenerationEngine(served, tiny_tokenizer), control=True,
                     baseline_engine=GenerationEngine(tiny_model, tiny_tokenizer),
                     votes=VoteStore(tmp_path_factory.mktemp("votes") / "votes.sqlite3"))
    with BackgroundServer(app, threads=4) as running:
        yield running


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1280,900")
    options.add_argument("--lang=ko-KR")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def set_number(driver, name, value):
    field = driver.find_element(By.ID, name)
    field.clear()
    field.send_keys(str(value))


def greedy_page(driver, server, text, max_new_tokens, min_new_tokens):
    """A fresh page at desktop size with the greedy preset, the given lengths and prompt."""
    driver.set_window_size(1280, 900)
    driver.get(server.url + "/")
    driver.find_element(By.ID, "preset-greedy").click()
    set_number(driver, "max_new_tokens", max_new_tokens)
    set_number(driver, "min_new_tokens", min_new_tokens)
    prompt = driver.find_element(By.ID, "prompt")
    prompt.clear()
    prompt.send_keys(text)


def wait(driver, seconds=30):
    return WebDriverWait(driver, seconds)


def screenshot(driver, filename, width):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height, 600), 4000))
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(SCREENSHOT_DIR / filename))


def test_generate_in_the_browser(browser, server, inference):
    browser.get(server.url + "/")
    assert "KoGPT2" in browser.title
    assert "테스트 알림" in browser.find_element(By.ID, "notice").text

    browser.find_element(By.ID, "preset-greedy").click()
    assert not browser.find_element(By.ID, "do_sample").is_selected(), "그리디 프리셋은 샘플링을 꺼야 합니다"
    for name in ("temperature", "top_k", "top_p"):
        assert not browser.find_element(By.ID, name + "-slider").is_enabled(), f"샘플링을 끄면 {name} 슬라이더가 잠겨야 합니다"
    set_number(browser, "max_new_tokens", 6)
    set_number(browser, "min_new_tokens", 2)
    assert browser.find_element(By.ID, "max_new_tokens-slider").get_attribute("value") == "6", "슬라이더가 따라와야 합니다"
    prompt = browser.find_element(By.ID, "prompt")
    prompt.clear()
    prompt.send_keys("배우들 연기가")

    inference.hold()
    button = browser.find_element(By.ID, "generate")
    button.click()
    assert inference.entered.wait(10), "버튼을 누르면 생성 요청이 가야 합니다"
    assert not button.is_enabled(), "생성 중에는 버튼이 비활성화되어야 합니다"
    assert browser.find_element(By.ID, "stop").is_enabled(), "생성 중에는 [멈춤]을 누를 수 있어야 합니다"
    inference.release()
    wait(browser).until(EC.element_to_be_clickable((By.ID, "generate")))
    result = browser.find_element(By.ID, "result").text
    assert result.startswith("배우들 연기가"), f"결과에 프롬프트로 시작하는 문장이 보여야 합니다: {result!r}"
    assert "그리디" in browser.find_element(By.ID, "result-meta").text

    browser.find_element(By.ID, "candidates-button").click()
    wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#candidates li")) == 10)
    assert "%" in browser.find_element(By.CSS_SELECTOR, "#candidates li").text
    screenshot(browser, "step5_desktop.png", 1280)


def test_stream_stop_control_side_by_side_and_vote(browser, server, inference):
    """The lab: tokens appear while the stream runs, [멈춤] ends it, the 감성 selector changes the prefix the
    model receives, the pretrained model answers beside it, and an A/B vote shows on the results page."""
    greedy_page(browser, server, "배우들 연기가", max_new_tokens=60, min_new_tokens=60)
    control = Select(browser.find_element(By.ID, "control"))
    control.select_by_value("긍정")
    result, stop = browser.find_element(By.ID, "result"), browser.find_element(By.ID, "stop")
    inference.delay_s = 0.03  # 60 steps: about two seconds unless stopped
    try:
        browser.find_element(By.ID, "generate").click()
        wait(browser, 10).until(lambda d: len(result.text) > len("배우들 연기가") + 1)
        assert stop.is_enabled(), "토큰은 생성이 끝나기 전에, 나오는 대로 보여야 합니다"
        positive = browser.find_element(By.ID, "model-input").text
        stop.click()
        wait(browser).until(EC.element_to_be_clickable((By.ID, "generate")))
    finally:
        inference.delay_s = 0.0
    assert "멈춤" in browser.find_element(By.ID, "result-meta").text, "[멈춤]으로 끝났다고 보여야 합니다"
    assert "긍정" in positive and positive.endswith("배우들 연기가"), f"제어 코드가 앞에 붙어야 합니다: {positive!r}"

    control.select_by_value("부정")
    set_number(browser, "max_new_tokens", 4)
    set_number(browser, "min_new_tokens", 0)
    browser.find_element(By.ID, "compare").click()
    browser.find_element(By.ID, "generate").click()
    wait(browser).until(lambda d: "부정" in d.find_element(By.ID, "model-input").text)
    wait(browser).until(EC.element_to_be_clickable((By.ID, "generate")))
    assert "긍정" not in browser.find_element(By.ID, "model-input").text, "감성을 바꾸면 제어 코드가 바뀌어야 합니다"
    baseline = browser.find_element(By.ID, "result-baseline")
    assert baseline.is_displayed() and baseline.text.startswith("배우들 연기가"), "사전 학습 모델의 글이 옆에 보여야 합니다"

    browser.find_element(By.ID, "ab-generate").click()
    vote = browser.find_element(By.ID, "vote-A")
    wait(browser).until(lambda d: vote.is_enabled())
    assert browser.find_element(By.ID, "ab-A").text.startswith("배우들 연기가")
    assert browser.find_element(By.ID, "ab-B").text.startswith("배우들 연기가")
    vote.click()
    wait(browser).until(lambda d: "투표했습니다" in d.find_element(By.ID, "ab-status").text)
    browser.get(server.url + "/results")
    assert browser.find_element(By.ID, "total-votes").text == "1"
    assert browser.find_element(By.CSS_SELECTOR, "#results-table td.votes").text == "1"


def test_script_prompt_is_shown_as_text(browser, server):
    greedy_page(browser, server, XSS_PROMPT, max_new_tokens=3, min_new_tokens=0)
    browser.find_element(By.ID, "generate").click()
    wait(browser).until(lambda d: d.find_element(By.ID, "result").text.startswith("<script>"))
    result = browser.find_element(By.ID, "result")
    assert XSS_PROMPT in result.text, "프롬프트가 글자 그대로 보여야 합니다"
    assert not result.find_elements(By.TAG_NAME, "script") and not result.find_elements(By.TAG_NAME, "img"), \
        "결과가 HTML로 해석되었습니다 (textContent를 쓰세요)"
    assert browser.execute_script("return window.__xss === undefined"), "프롬프트 안의 스크립트가 실행되었습니다"


def test_error_message_is_shown(browser, server):
    browser.set_window_size(1280, 900)
    browser.get(server.url + "/")
    set_number(browser, "top_p", 1.5)
    browser.find_element(By.ID, "generate").click()
    error = browser.find_element(By.ID, "error")
    wait(browser).until(lambda d: error.is_displayed() and error.text)
    assert "top_p" in error.text and "1 이하" in error.text, f"서버의 한국어 오류가 보여야 합니다: {error.text!r}"
    assert browser.find_element(By.ID, "generate").is_enabled(), "오류 뒤에는 버튼이 다시 켜져야 합니다"
    box = browser.execute_script("const r = arguments[0].getBoundingClientRect(); "
                                 "return [r.top, r.bottom, window.innerHeight]", error)
    assert 0 <= box[0] and box[1] <= box[2] + 1, f"오류 상자가 화면 안에 보여야 합니다 (위 {box[0]:.0f}, 아래 {box[1]:.0f}, 화면 높이 {box[2]})"
    assert browser.find_element(By.ID, "top_p").get_attribute("aria-invalid") == "true", "잘못된 칸이 표시되어야 합니다"

    prompt = browser.find_element(By.ID, "prompt")
    prompt.clear()
    set_number(browser, "top_p", 0.9)
    browser.find_element(By.ID, "generate").click()
    wait(browser).until(lambda d: "prompt" in d.find_element(By.ID, "error").text)


def test_hangul_renders_with_the_served_font(browser, server):
    """The page brings its own Hangul font (lab PCs and CI have no Korean system font: tofu boxes otherwise)."""
    browser.set_window_size(1280, 900)
    browser.get(server.url + "/")
    faces = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "document.fonts.load('16px NanumGothicLight', '한글 생성').then("
        "  () => done([...document.fonts].map((f) => [f.family.replace(/\"/g, ''), f.status])),"
        "  (e) => done([['load failed', String(e)]]));")
    assert ["NanumGothicLight", "loaded"] in faces, f"서버가 보낸 한글 글꼴을 브라우저가 쓰지 못했습니다: {faces}"
    assert browser.execute_script("return document.fonts.check('16px NanumGothicLight', '한글 생성')")
    body_font = browser.execute_script("return getComputedStyle(document.getElementById('prompt')).fontFamily")
    assert body_font.strip('"').startswith("NanumGothicLight"), body_font
    fetched = browser.execute_script("return performance.getEntriesByType('resource').map((e) => [e.name, e.responseStatus])")
    assert [server.url + "/fonts/NanumGothicLight.ttf", 200] in fetched, fetched


def test_phone_width_screenshot(browser, server):
    browser.set_window_size(390, 844)
    browser.get(server.url + "/")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"좁은 화면에서 가로 스크롤이 생기면 안 됩니다 (문서 너비 {width}px)"
    browser.find_element(By.ID, "preset-creative").click()
    set_number(browser, "max_new_tokens", 8)
    browser.find_element(By.ID, "generate").click()
    assert browser.find_element(By.ID, "min_new_tokens").get_attribute("value") == "8", \
        "최대 길이를 최소 길이보다 작게 하면 최소 길이가 따라 내려가야 합니다"
    wait(browser).until(lambda d: d.find_element(By.ID, "result").text.startswith("이 영화"))
    screenshot(browser, "step5_phone.png", 390)
