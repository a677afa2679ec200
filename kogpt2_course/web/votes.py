"""A/B 투표(사람 평가) 저장소: 내장 데이터베이스 SQLite 파일 하나 (파이썬 표준 라이브러리 ``sqlite3``).

    store = VoteStore("data/web_votes.sqlite3")     # 없으면 만듭니다
    trial = store.add_trial(prompt, "그리디", {...}, "글 A", "리뷰 생성", {...}, "글 B")   # 화면 순서 그대로
    store.add_vote(trial, "A")                      # "A", "B" 또는 "same"(비슷함)
    store.results()                                 # 설정 쌍마다 승률, 95% 윌슨 구간, 표 수
    store.export_csv("votes.csv")

``trials``(프롬프트, 화면의 A·B 자리에 놓인 두 설정과 값과 글, 시각)와 ``votes``(시도마다 한 표, 고른 것, 시각)
두 표에 씁니다. 여러 스레드(웨이트리스의 작업 스레드)가 동시에 써도 표가 빠지지 않도록 쓰기마다 새 연결에서
``BEGIN IMMEDIATE`` 트랜잭션을 열고(쓰는 동안 다른 쓰기는 ``timeout``초까지 기다림), 파일은 WAL 모드(읽기와 쓰기가
서로 막지 않음)로 둡니다. 파일에 바로 쓰므로 서버를 다시 켜도 표는 그대로입니다.
"""

from __future__ import annotations

import csv
import json
import math
import secrets
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from statistics import NormalDist

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VOTES_DB = ROOT / "data" / "web_votes.sqlite3"
CHOICES = {"A": "A가 낫다", "B": "B가 낫다", "same": "비슷하다"}
BUSY_TIMEOUT_S = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    prompt TEXT NOT NULL,
    setting_a TEXT NOT NULL, params_a TEXT NOT NULL, output_a TEXT NOT NULL,
    setting_b TEXT NOT NULL, params_b TEXT NOT NULL, output_b TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    trial_id TEXT PRIMARY KEY REFERENCES trials(id),
    choice TEXT NOT NULL CHECK (choice IN ('A', 'B', 'same')),
    voted_at TEXT NOT NULL
);
"""


class VoteError(ValueError):
    """잘못된 투표. ``status``는 HTTP 상태(404: 없는 시도, 409: 이미 투표함), ``message``는 한국어."""

    def __init__(self, message: str, status: int, field: str | None = None):
        super().__init__(message)
        self.message, self.status, self.field = message, status, field


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """이항 비율의 윌슨 점수 구간 (Wilson, 1927). 표가 없으면 (0, 1).

    정규 근사 구간(p ± z·√(p(1-p)/n))과 달리 표가 적거나 비율이 0·1에 가까워도 [0, 1] 안에 있고 너비가 0이 되지
    않습니다. z는 표준 라이브러리의 ``statistics.NormalDist``에서 (95%: 1.96)."""
    if trials == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p, n = successes / trials, trials
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, center - half), min(1.0, center + half)


class VoteStore:
    """SQLite 파일 하나에 든 A/B 시도와 투표."""

    def __init__(self, path: str | Path = DEFAULT_VOTES_DB):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ValueError(f"투표 파일을 열 수 없습니다: {self.path} ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        # autocommit mode (isolation_level=None): transactions are the explicit BEGIN IMMEDIATE of _write.
        # synchronous=NORMAL is SQLite's advice for WAL: a crash of the server loses nothing; only a power cut
        # can lose the last commits (the file stays consistent), and each vote needs no extra disk flush.
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        connection.execute("PRAGMA synchronous=NORMAL")
        return connection

    @contextmanager
    def _write(self):
        with closing(self._connect()) as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def add_trial(self, prompt: str, setting_a: str, params_a: dict, output_a: str,
                  setting_b: str, params_b: dict, output_b: str) -> str:
        """화면의 A·B 자리에 놓인 그대로 시도를 기록하고 그 id를 돌려줍니다."""
        trial_id = secrets.token_urlsafe(12)
        with self._write() as connection:
            connection.execute("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                               (trial_id, _now(), prompt, setting_a, json.dumps(params_a, ensure_ascii=False),
                                output_a, setting_b, json.dumps(params_b, ensure_ascii=False), output_b))
        return trial_id

    def add_vote(self, trial_id: str, choice: str) -> dict:
        """한 시도에 한 표. 돌려주는 값: 두 자리의 설정 이름 (투표 뒤에 공개)."""
        if choice not in CHOICES:
            raise VoteError(f"choice: {', '.join(CHOICES)} 중 하나여야 합니다 ({', '.join(CHOICES.values())}).", 400,
                            "choice")
        with self._write() as connection:
            row = connection.execute("SELECT setting_a, setting_b FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if row is None:
                raise VoteError("trial_id: 없는 비교입니다. 먼저 [두 설정으로 생성]을 눌러 비교를 만드세요.", 404,
                                "trial_id")
            try:
                connection.execute("INSERT INTO votes VALUES (?, ?, ?)", (trial_id, choice, _now()))
            except sqlite3.IntegrityError:
                raise VoteError("trial_id: 이 비교에는 이미 투표했습니다. 새 비교를 만드세요.", 409, "trial_id") from None
        return {"A": row[0], "B": row[1]}

    def count_votes(self) -> int:
        with closing(self._connect()) as connection:
            return connection.execute("SELECT COUNT(*) FROM votes").fetchone()[0]

    def _voted_rows(self) -> list[sqlite3.Row]:
        with closing(self._connect()) as connection:
            connection.row_factory = sqlite3.Row
            return connection.execute(
                "SELECT v.voted_at, t.prompt, t.setting_a, t.params_a, t.output_a, t.setting_b, t.params_b, "
                "t.output_b, v.choice FROM votes v JOIN trials t ON t.id = v.trial_id ORDER BY v.voted_at").fetchall()

    def results(self) -> list[dict]:
        """설정 쌍(이름 순서로 정렬한 두 설정)마다: 이긴 수, 비긴 수, 표 수, 첫 설정의 승률(비긴 표 제외)과 95% 윌슨 구간."""
        pairs: dict[tuple[str, str], dict] = {}
        for row in self._voted_rows():
            first, second = sorted((row["setting_a"], row["setting_b"]))
            entry = pairs.setdefault((first, second), {"first": first, "second": second, "first_wins": 0,
                                                       "second_wins": 0, "ties": 0})
            if row["choice"] == "same":
                entry["ties"] += 1
            else:
                winner = row["setting_a"] if row["choice"] == "A" else row["setting_b"]
                entry["first_wins" if winner == first else "second_wins"] += 1
        results = []
        for entry in pairs.values():
            decided = entry["first_wins"] + entry["second_wins"]
            low, high = wilson_interval(entry["first_wins"], decided)
            results.append({**entry, "votes": decided + entry["ties"], "decided": decided,
                            "first_win_rate": entry["first_wins"] / decided if decided else None,
                            "ci_low": low, "ci_high": high})
        return sorted(results, key=lambda r: (-r["votes"], r["first"], r["second"]))

    def export_csv(self, path: str | Path) -> int:
        """투표 하나에 한 줄인 CSV(UTF-8 BOM: 엑셀에서 한글이 깨지지 않음). 쓴 줄 수를 돌려줍니다."""
        rows = self._voted_rows()
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["voted_at", "prompt", "setting_a", "params_a", "output_a", "setting_b", "params_b",
                             "output_b", "choice"])
            writer.writerows([tuple(row) for row in rows])
        return len(rows)
