"""SIGKILL the server at random moments while labels are posted: no confirmed label is lost.

A label counts as confirmed when the server answered 200, which it does only
after the label's transaction committed. After every kill the server is started
again on the same database and the posting goes on. At the end, every confirmed
label must be in the database with its value, and every label in the database
must be one that was confirmed or was in flight at a kill (never invented).
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
from tests.labelling.conftest import LabelServer

KILLS = 20


def test_sigkill_loses_no_confirmed_label(tmp_path: Path, sst2_train, embed_cache: Path) -> None:
    pool = tmp_path / "pool.csv"
    sst2_train.iloc[:600][["idx", "text"]].to_csv(pool, index=False)
    embedding_table(load_data(pool).texts, None, embed_cache / "emb")  # warm: no MiniLM per start
    db = tmp_path / "labels.sqlite"
    args = [str(pool), "--labels", "negative,positive", "--db", str(db), "--strategy", "random"]
    args += ["--batch-size", "25", "--cache-dir", str(embed_cache)]
    server = LabelServer(args, tmp_path / "server.log")
    rng = random.Random(17)
    confirmed: dict[int, str | None] = {}
    attempted: set[int] = set()
    started = time.monotonic()

    def post_labels(stop: threading.Event) -> None:
        client = httpx.Client(base_url=server.url, timeout=5)
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
                state = answer.json()["state"]
        except (httpx.TransportError, ValueError):
            pass  # the server died under us: whatever was not answered is not confirmed
        finally:
            client.close()

    for _ in range(KILLS):
        server.start().wait_for_item()  # the first batch of a fresh process imports modAL
        stop = threading.Event()
        poster = threading.Thread(target=post_labels, args=(stop,))
        poster.start()
        time.sleep(rng.uniform(0.02, 0.6))
        server.kill(signal.SIGKILL)
        stop.set()
        poster.join(timeout=30)
    elapsed = time.monotonic() - started

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = dict(conn.execute("SELECT row, label FROM labels").fetchall())
    lost = [row for row, label in confirmed.items() if row not in stored or stored[row] != label]
    invented = set(stored) - attempted
    print(
        f"\n{KILLS} SIGKILLs in {elapsed:.1f} s: {len(confirmed)} labels confirmed, "
        f"{len(stored)} stored, {len(lost)} confirmed labels lost, "
        f"{len(set(stored) - set(confirmed))} stored but unconfirmed (in flight at a kill)"
    )
    assert len(confirmed) >= KILLS  # the kills did land while labels were flowing
    assert lost == []
    assert not invented
