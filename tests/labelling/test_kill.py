"""SIGKILL the server at random moments while labels are posted: no confirmed label is lost.

A label counts as confirmed when the server answered 200, which it does only
after the label's transaction committed. After every kill the server is started
again on the same database and the posting goes on. At the end, every confirmed
label must be in the database with its value, and every label in the database
must be one that was confirmed or was in flight at a kill (never invented).

The server asks a fake LLM (a real HTTP server on 127.0.0.1) for suggestions
all along, so the kills also land while suggestions are being stored; they are
kept apart from the labels and must never change one.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import httpx

from activellm_modal.labelling.dataset import load_data
from activellm_modal.labelling.session import embedding_table
from tests.labelling.conftest import LabelServer, suggesting_llm
from tests.openai_server import ScriptedOpenAIServer

KILLS = 20
# At most this many labels (plus the one in flight) per cycle: 20 cycles stay within the pool.
MAX_PER_CYCLE = 25
POOL_SIZE = 600


def test_sigkill_loses_no_confirmed_label(tmp_path: Path, sst2_train, embed_cache: Path) -> None:
    pool = tmp_path / "pool.csv"
    sst2_train.iloc[:POOL_SIZE][["idx", "text"]].to_csv(pool, index=False)
    embedding_table(load_data(pool).texts, None, embed_cache / "emb")  # warm: no MiniLM per start
    db = tmp_path / "labels.sqlite"
    llm = ScriptedOpenAIServer()
    truth = {
        text: ["negative", "positive"][int(y)]
        for text, y in zip(sst2_train["text"], sst2_train["label"], strict=True)
    }
    llm.default = suggesting_llm(truth, invalid_every=7)
    args = [str(pool), "--labels", "negative,positive", "--db", str(db), "--strategy", "random"]
    args += ["--batch-size", "25", "--cache-dir", str(embed_cache)]
    args += ["--base-url", llm.url, "--model", "scripted-llm"]
    server = LabelServer(args, tmp_path / "server.log")
    rng = random.Random(17)
    confirmed: dict[int, str | None] = {}
    attempted: set[int] = set()
    started = time.monotonic()

    def post_labels(stop: threading.Event, enough: threading.Event, cap: int) -> None:
        client = httpx.Client(base_url=server.url, timeout=5)
        posted = 0
        try:
            state = client.get("/api/state").json()
            while not stop.is_set():
                if state["item"] is None:
                    state = client.get("/api/state").json()
                    continue
                row = state["item"]["row"]
                label = rng.choice(["negative", "positive", None])
                attempted.add(row)
                answer = client.post("/api/label", json={"row": row, "label": label, "client": "k"})
                if answer.status_code == 200:
                    confirmed[row] = label
                posted += 1
                if posted >= cap:
                    enough.set()  # keep posting: the kill should land with a label in flight
                state = answer.json()["state"]
        except (httpx.TransportError, ValueError):
            pass  # the server died under us: whatever was not answered is not confirmed
        finally:
            client.close()

    for _ in range(KILLS):
        server.start().wait_for_item()  # the first batch of a fresh process imports modAL
        stop, enough = threading.Event(), threading.Event()
        # A random moment, bounded in time and in labels: an idle machine posts ~100 labels a
        # second, and 20 unbounded cycles would label the whole pool before the last kill.
        cap = rng.randint(1, MAX_PER_CYCLE)
        poster = threading.Thread(target=post_labels, args=(stop, enough, cap))
        poster.start()
        if enough.wait(timeout=rng.uniform(0.02, 0.6)):
            time.sleep(rng.uniform(0.0, 0.015))  # somewhere inside the next label's round trip
        server.kill(signal.SIGKILL)
        stop.set()
        poster.join(timeout=30)
    elapsed = time.monotonic() - started
    llm.close()

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(conn.execute("SELECT row, label FROM labels").fetchall())
        suggested = dict(conn.execute("SELECT row, label FROM suggestions").fetchall())
        picked = {row for (row,) in conn.execute("SELECT row FROM batches")}
    lost = [row for row, label in confirmed.items() if row not in stored or stored[row] != label]
    invented = set(stored) - attempted
    print(
        f"\n{KILLS} SIGKILLs in {elapsed:.1f} s: {len(confirmed)} labels confirmed, "
        f"{len(stored)} stored, {len(lost)} confirmed labels lost, "
        f"{len(set(stored) - set(confirmed))} stored but unconfirmed (in flight at a kill), "
        f"{len(suggested)} suggestions stored ({len(llm.chat_requests)} LLM calls)"
    )
    assert len(confirmed) >= KILLS  # the kills did land while labels were flowing
    assert len(stored) < POOL_SIZE  # every restart had texts left to label
    assert lost == []
    assert not invented
    # Suggestions were stored across the kills, apart from the labels, only for picked rows.
    assert len(suggested) >= len(confirmed) / 2 and set(suggested) <= picked
    assert set(suggested.values()) <= {"negative", "positive", None}
