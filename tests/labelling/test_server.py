"""The real server (uvicorn in its own process): two tabs at once, security, export."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from tests.labelling.conftest import child_env

LABELS = "negative,positive"


def _args(pool_csv: Path, db: Path, *extra: str) -> list[str]:
    return [str(pool_csv), "--labels", LABELS, "--db", str(db), *extra]


def test_two_tabs_labelling_at_once_lose_and_double_nothing(
    tmp_path: Path, pool_csv: Path, label_server
) -> None:
    db = tmp_path / "labels.sqlite"
    server = label_server(_args(pool_csv, db, "--strategy", "random", "--batch-size", "6"))
    server.wait_for_item()
    confirmed: dict[str, list[tuple[int, str]]] = {"tab-a": [], "tab-b": []}
    conflicts = {"tab-a": 0, "tab-b": 0}
    target = 30

    def tab(client: str) -> None:
        label = "negative" if client == "tab-a" else "positive"
        with httpx.Client(base_url=server.url, timeout=30) as http:
            state = http.get("/api/state").json()
            while sum(len(c) for c in confirmed.values()) < target:
                if state["item"] is None:
                    time.sleep(0.05)
                    state = http.get("/api/state").json()
                    continue
                row = state["item"]["row"]
                answer = http.post(
                    "/api/label", json={"row": row, "label": label, "client": client}
                )
                if answer.status_code == 200:
                    confirmed[client].append((row, label))
                else:
                    assert answer.status_code == 409, answer.text
                    conflicts[client] += 1
                state = answer.json()["state"]

    threads = [threading.Thread(target=tab, args=(client,)) for client in confirmed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    both = confirmed["tab-a"] + confirmed["tab-b"]
    rows = [row for row, _ in both]
    assert len(rows) == len(set(rows)) >= target  # nobody labelled a row twice
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT row, label FROM labels").fetchall()
        events = conn.execute("SELECT COUNT(*) FROM events WHERE action = 'label'").fetchone()[0]
    assert sorted(stored) == sorted(both)  # nothing lost, nothing extra
    assert events == len(both)
    assert sum(conflicts.values()) > 0  # the tabs did collide, and the store settled it
    assert confirmed["tab-a"] and confirmed["tab-b"]


def test_loopback_only_escaped_page_and_json_only(tmp_path: Path, pool_csv, label_server) -> None:
    db = tmp_path / "labels.sqlite"
    server = label_server(_args(pool_csv, db, "--strategy", "random"))
    state = server.wait_for_item()
    # Bound to 127.0.0.1 only: /proc/net/tcp lists the listening socket as 0100007F:<port>.
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[3] == "0A"
    ]
    assert f"0100007F:{server.port:04X}" in listening
    assert f"00000000:{server.port:04X}" not in listening
    page = httpx.get(server.url + "/")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text.replace('<script src="/static/app.js" defer></script>', "")
    assert "textContent" in httpx.get(server.url + "/static/app.js").text
    assert "innerHTML" not in httpx.get(server.url + "/static/app.js").text
    rebinding = httpx.get(server.url + "/api/state", headers={"Host": "evil.example"})
    assert rebinding.status_code == 400
    form = httpx.post(
        server.url + "/api/label",
        content=json.dumps({"row": state["item"]["row"], "label": "positive"}),
        headers={"Content-Type": "text/plain"},
    )
    assert form.status_code == 415
    bad = httpx.post(server.url + "/api/label", json={"row": state["item"]["row"], "label": "meh"})
    assert bad.status_code == 422 and "unknown label 'meh'" in bad.text
    ok = httpx.post(server.url + "/api/label", json={"row": state["item"]["row"], "label": None})
    assert ok.status_code == 200 and ok.json()["state"]["n_skipped"] == 1
    row = ok.json()["state"]["item"]["row"]
    httpx.post(server.url + "/api/label", json={"row": row, "label": "positive", "client": "c"})
    csv_text = httpx.get(server.url + "/api/export.csv").text.splitlines()
    assert csv_text[0].startswith("row,text,label,round") and len(csv_text) == 2
    lines = httpx.get(server.url + "/api/export.jsonl").text.splitlines()
    assert [json.loads(line)["row"] for line in lines] == [row]


SECRET = "sk-labelling-SECRET-9876543210"


def test_api_key_never_reaches_page_log_or_database(
    tmp_path: Path, pool_csv: Path, label_server, llm_server
) -> None:
    from tests.openai_server import pick_longest

    llm_server.default = lambda body: pick_longest(body, 5)
    db = tmp_path / "labels.sqlite"
    args = _args(pool_csv, db, "--strategy", "hybrid", "--batch-size", "5")
    args += ["--base-url", llm_server.url, "--model", "scripted"]
    server = label_server(args, env=child_env(OPENAI_API_KEY=SECRET))
    state = server.wait_for_item()
    assert llm_server.chat_requests[0]["headers"]["authorization"] == f"Bearer {SECRET}"
    assert state["item"]["picked_by"] == "hybrid: cold_start: ActiveLLM"
    seen = [httpx.get(server.url + path).text for path in ("/", "/static/app.js", "/api/state")]
    for _ in range(5):
        state = httpx.get(server.url + "/api/state").json()
        httpx.post(
            server.url + "/api/label", json={"row": state["item"]["row"], "label": "positive"}
        )
    seen.append(httpx.get(server.url + "/api/export.jsonl").text)
    server.stop()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("labels.sqlite*"))
    log = (tmp_path / "server.log").read_text()
    assert "Open http://127.0.0.1:" in log
    assert SECRET not in log and SECRET.encode() not in stored
    assert all(SECRET not in text for text in seen)


def test_offline_demo_replays_gpt4_on_an_sst2_slice(
    tmp_path: Path, shared_dir: Path, label_server
) -> None:
    args = ["sst2", "--limit", "50", "--strategy", "paper", "--db", str(tmp_path / "d.sqlite")]
    args += ["--data-dir", str(shared_dir / "datasets"), "--paper-dir", str(shared_dir / "paper")]
    server = label_server(args)  # no --labels: they come from sst2/labels.json
    state = server.wait_for_item()
    assert state["labels"] == ["negative", "positive"]
    assert state["item"]["picked_by"] == (
        "paper: ActiveLLM, gpt-4 answer replayed (answers/sst2/10/answer_1.txt)"
    )
    from activellm_modal.llm.replay import load_recordings

    shown = {
        row
        for recording in load_recordings(shared_dir / "paper", task="sst2", llm="gpt-4")
        if recording.source.startswith("answers/sst2/10/")
        for row in recording.ids
    }
    extra = len({row for row in shown if row >= 50})
    assert state["n_pool"] == 50 + extra  # the slice and the rows the five recordings showed
    log = (tmp_path / "server.log").read_text()
    assert f"{extra} recorded row(s) kept beyond --limit 50" in log


def test_label_help() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "activellm_modal", "label", "--help"],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=60,
    )
    assert done.returncode == 0
    assert "--strategy {default,paper,hybrid,random}" in done.stdout
