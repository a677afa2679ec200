// KoGPT2 웹 데모 화면. 결과와 오류는 언제나 textContent로 넣습니다 (HTML로 해석하지 않음).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("page-data").textContent);
  const specs = data.specs;
  const $ = (id) => document.getElementById(id);
  const generateButton = $("generate");
  const candidatesButton = $("candidates-button");
  const statusBox = $("status");
  const errorBox = $("error");
  const resultBox = $("result");
  const resultMeta = $("result-meta");

  function setValue(spec, value) {
    const input = $(spec.name);
    if (spec.kind === "bool") { input.checked = Boolean(value); return; }
    input.value = value;
    const slider = $(spec.name + "-slider");
    if (slider) slider.value = value;
  }

  // 슬라이더와 숫자 칸을 서로 맞춥니다.
  for (const spec of specs) {
    if (spec.kind === "bool") continue;
    const input = $(spec.name);
    const slider = $(spec.name + "-slider");
    slider.addEventListener("input", () => { input.value = slider.value; clearPreset(); });
    input.addEventListener("input", () => { if (input.value !== "") slider.value = input.value; clearPreset(); });
  }

  // 최소 새 토큰 수가 최대 새 토큰 수를 넘지 않게 맞춥니다.
  function keepLengthsOrdered(changed) {
    const minSpec = specs.find((s) => s.name === "min_new_tokens");
    const maxSpec = specs.find((s) => s.name === "max_new_tokens");
    const low = Number($("min_new_tokens").value), high = Number($("max_new_tokens").value);
    if ($("min_new_tokens").value === "" || $("max_new_tokens").value === "" || low <= high) return;
    if (changed === "max_new_tokens") setValue(minSpec, high); else setValue(maxSpec, low);
  }
  for (const name of ["min_new_tokens", "max_new_tokens"]) {
    $(name).addEventListener("change", () => keepLengthsOrdered(name));
    $(name + "-slider").addEventListener("input", () => keepLengthsOrdered(name));
  }

  // 샘플링을 끄면 온도·top-k·top-p는 generate가 쓰지 않으므로 잠그고 보내지도 않습니다.
  function syncSampling() {
    const on = $("do_sample").checked;
    for (const name of data.sampling_only) {
      $(name).disabled = !on;
      $(name + "-slider").disabled = !on;
      $(name).closest(".param").classList.toggle("off", !on);
    }
  }
  $("do_sample").addEventListener("change", () => { syncSampling(); clearPreset(); });
  syncSampling();

  function clearPreset() {
    document.querySelectorAll("button.preset").forEach((b) => b.classList.remove("active"));
  }

  document.querySelectorAll("button.preset").forEach((button) => {
    button.addEventListener("click", () => {
      const values = data.presets[button.dataset.preset].values;
      for (const spec of specs) {
        if (Object.prototype.hasOwnProperty.call(values, spec.name)) setValue(spec, values[spec.name]);
      }
      syncSampling();
      clearPreset();
      button.classList.add("active");
    });
  });

  function collect() {
    const body = { prompt: $("prompt").value };
    for (const spec of specs) {
      const input = $(spec.name);
      if (input.disabled) continue;  // 쓰이지 않는 값은 보내지 않습니다
      if (spec.kind === "bool") body[spec.name] = input.checked;
      else body[spec.name] = input.value === "" ? null : Number(input.value);
    }
    return body;
  }

  // 오류는 [문장 생성] 버튼 바로 아래에 보이고, 화면 밖이면 보이도록 스크롤합니다. 잘못된 칸은 빨갛게 표시합니다.
  function showError(message, field) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
    document.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
    if (!message) return;
    const input = field ? document.getElementById(field) : null;
    if (input && input.matches("input, textarea")) input.setAttribute("aria-invalid", "true");
    errorBox.scrollIntoView({ block: "nearest" });
  }

  async function post(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
    } catch (e) {
      throw new Error("서버에 연결할 수 없습니다. 서버가 켜져 있는지 확인하세요.");
    }
    let payload = null;
    try { payload = await response.json(); } catch (e) { payload = null; }
    if (!response.ok || !payload || !payload.ok) {
      const message = payload && payload.error ? payload.error : "요청이 실패했습니다 (HTTP " + response.status + ").";
      const error = new Error(message);
      error.field = payload && payload.field;
      throw error;
    }
    return payload;
  }

  const stopButton = $("stop");
  let streamId = null;

  function busy(on, message) {
    generateButton.disabled = on;
    if (candidatesButton) candidatesButton.disabled = on;
    if (stopButton) stopButton.disabled = !on;
    statusBox.textContent = message || "";
  }

  // 결과 칸에 프롬프트(흐리게)와 이어 쓴 글을 넣습니다.
  function showText(box, prompt, text) {
    box.textContent = "";
    if (text.startsWith(prompt)) {
      const promptPart = document.createElement("span");
      promptPart.className = "prompt-part";
      promptPart.textContent = prompt;
      box.append(promptPart, document.createTextNode(text.slice(prompt.length)));
    } else {
      box.textContent = text;
    }
  }

  function showModelInput(text) {
    const line = $("model-input-line");
    $("model-input").textContent = text;
    line.hidden = false;
  }

  function modeName(params) {
    return params.do_sample ? "샘플링" : (params.num_beams > 1 ? "빔 서치" : "그리디");
  }

  function failure(payload, status) {
    const error = new Error(payload && payload.error ? payload.error : "요청이 실패했습니다 (HTTP " + status + ").");
    error.field = payload && payload.field;
    return error;
  }

  // 실시간 생성: POST /api/stream의 server-sent events(start → token… → done 또는 error)를 읽으며 토큰을 바로 보여 줍니다.
  async function streamGenerate(body, box) {
    let response;
    try {
      response = await fetch("/api/stream", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
    } catch (e) {
      throw new Error("서버에 연결할 수 없습니다. 서버가 켜져 있는지 확인하세요.");
    }
    if (!response.ok) {
      let payload = null;
      try { payload = await response.json(); } catch (e) { payload = null; }
      throw failure(payload, response.status);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", start = null, final = null, firstToken = null;
    const began = performance.now();
    try {
      await readEvents();
    } finally {
      streamId = null;
    }
    if (!start || !final) throw new Error("생성이 끝나기 전에 연결이 끊겼습니다. 다시 시도하세요.");
    showText(box, start.prompt, final.text);
    return { start: start, final: final, firstToken: firstToken };

    async function readEvents() {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const raw = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let name = "message", text = "";
          for (const line of raw.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) text += line.slice(6);
          }
          const data = JSON.parse(text || "{}");
          if (name === "start") {
            start = data;
            streamId = data.id;
            showModelInput(data.model_input);
            showText(box, data.prompt, data.prompt);
          } else if (name === "token") {
            if (firstToken === null) firstToken = performance.now() - began;
            box.append(document.createTextNode(data.text));
          } else if (name === "done") {
            final = data;
          } else if (name === "error") {
            throw failure(data, 500);
          }
        }
      }
    }
  }

  function requestBody() {
    const body = collect();
    if (data.control) body.control = $("control").value;
    return body;
  }

  generateButton.addEventListener("click", async () => {
    showError("");
    busy(true, "생성 중입니다…");
    const started = performance.now();
    const body = requestBody();
    const compare = data.compare && $("compare").checked;
    if (data.compare) {
      $("baseline-box").hidden = !compare;
      $("result-title").hidden = !compare;
    }
    try {
      const baseline = compare ? post("/api", Object.assign({}, body, { model: "pretrained" })) : null;
      let meta;
      if (data.streaming) {
        const result = await streamGenerate(body, resultBox);
        meta = "첫 토큰 " + (result.firstToken === null ? "-" : (result.firstToken / 1000).toFixed(2) + "초") +
          " · 서버 " + result.final.elapsed_s.toFixed(2) + "초 · " + modeName(result.start.params) +
          (result.final.stopped ? " · 멈춤으로 중단" : "");
      } else {
        const payload = await post("/api", body);
        showText(resultBox, payload.prompt, payload.text);
        meta = "서버 " + payload.elapsed_s.toFixed(2) + "초 · " + modeName(payload.params);
      }
      if (baseline) {
        const other = await baseline;
        showText($("result-baseline"), other.prompt, other.text);
      }
      const seconds = ((performance.now() - started) / 1000).toFixed(2);
      resultMeta.textContent = meta + " · 전체 " + seconds + "초";
      busy(false, "완료");
    } catch (e) {
      showError(e.message, e.field);
      busy(false, "");
    }
  });

  if (stopButton) {
    stopButton.addEventListener("click", async () => {
      if (!streamId) return;
      stopButton.disabled = true;
      statusBox.textContent = "멈추는 중…";
      try { await post("/api/stop", { id: streamId }); } catch (e) { /* 이미 끝났으면 괜찮습니다 */ }
    });
  }

  // A/B 비교와 투표
  const abButton = $("ab-generate");
  if (abButton) {
    const abError = $("ab-error");
    const abStatus = $("ab-status");
    const voteButtons = document.querySelectorAll("button.vote");
    let trialId = null;

    const showAbError = (message) => { abError.textContent = message || ""; abError.hidden = !message; };
    const setting = (value) => {
      if (value !== "custom") return value;
      const body = collect();
      delete body.prompt;
      return body;
    };

    abButton.addEventListener("click", async () => {
      showAbError("");
      abButton.disabled = true;
      voteButtons.forEach((b) => { b.disabled = true; });
      abStatus.textContent = "두 설정으로 생성 중…";
      const body = { prompt: $("prompt").value, a: setting($("ab-a").value), b: setting($("ab-b").value) };
      if (data.control) body.control = $("control").value;
      try {
        const payload = await post("/api/ab", body);
        trialId = payload.trial_id;
        showText($("ab-A"), payload.prompt, payload.A);
        showText($("ab-B"), payload.prompt, payload.B);
        voteButtons.forEach((b) => { b.disabled = false; });
        abStatus.textContent = "읽고 투표하세요.";
      } catch (e) {
        showAbError(e.message);
        abStatus.textContent = "";
      }
      abButton.disabled = false;
    });

    voteButtons.forEach((button) => {
      button.addEventListener("click", async () => {
        voteButtons.forEach((b) => { b.disabled = true; });
        try {
          const payload = await post("/api/vote", { trial_id: trialId, choice: button.dataset.choice });
          abStatus.textContent = "투표했습니다. A = " + payload.revealed.A + ", B = " + payload.revealed.B;
        } catch (e) {
          showAbError(e.message);
        }
      });
    });
  }

  if (candidatesButton) {
    candidatesButton.addEventListener("click", async () => {
      showError("");
      busy(true, "후보 계산 중…");
      try {
        const payload = await post("/api/next-tokens", { prompt: $("prompt").value, k: 10 });
        const list = $("candidates");
        list.textContent = "";
        const top = payload.candidates.length ? payload.candidates[0].probability : 1;
        for (const c of payload.candidates) {
          const item = document.createElement("li");
          const token = document.createElement("span");
          token.className = "token";
          token.textContent = c.token;
          const bar = document.createElement("span");
          bar.className = "bar";
          bar.style.width = Math.max(2, Math.round(120 * c.probability / top)) + "px";
          item.append(token, bar, document.createTextNode((100 * c.probability).toFixed(1) + "%"));
          list.append(item);
        }
        busy(false, "");
      } catch (e) {
        showError(e.message, e.field);
        busy(false, "");
      }
    });
  }
})();
