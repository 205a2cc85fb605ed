"""The page in a real headless Chromium: keys, undo, reload, restart, escaping, LLM
suggestions, the learning curve, sentence pairs, screenshots.

``ACTIVELLM_UPDATE_SCREENSHOT=1`` also writes the screenshots to
``docs/_static/labelling.png`` and ``docs/_static/labelling-pairs.png`` (the
ones the documentation shows).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.labelling.conftest import REPO, SCRIPT_TEXT, suggesting_llm

LABELS = ["negative", "positive"]


@pytest.fixture(scope="module")
def truth(sst2_train) -> dict[int, str]:
    return {
        int(i): LABELS[int(y)] for i, y in zip(sst2_train["idx"], sst2_train["label"], strict=True)
    }


def _wait(browser, condition, timeout: float = 120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05).until(lambda d: condition())


def _row(browser) -> int | None:
    from selenium.webdriver.common.by import By

    value = browser.find_element(By.ID, "text").get_attribute("data-row")
    return int(value) if value else None


def _press(browser, key: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(browser).send_keys(key).perform()


def _stored(db: Path) -> dict[int, tuple[str | None, int]]:
    with sqlite3.connect(db) as conn:
        return {
            row: (label, rnd)
            for row, label, rnd in conn.execute("SELECT row, label, round FROM labels")
        }


def _data_row(pool_csv: Path, row: int) -> int:
    import pandas as pd

    return int(pd.read_csv(pool_csv)["idx"].iloc[row])  # the CSV's row -> SST-2 idx


def test_keyboard_undo_reload_restart(
    tmp_path: Path, pool_csv: Path, label_server, browser, truth: dict[int, str]
) -> None:
    from selenium.webdriver.common.by import By

    db = tmp_path / "labels.sqlite"
    args = [str(pool_csv), "--labels", ",".join(LABELS), "--db", str(db), "--batch-size", "6"]
    server = label_server(args)
    browser.get(server.url + "/")
    _wait(browser, lambda: _row(browser) is not None)
    where = browser.find_element(By.ID, "where").text
    assert where.startswith("Round 1 · text 1 of 6") and "KMeansColdStart" in where

    def label_current() -> int:
        _wait(browser, lambda: _row(browser) is not None)  # between batches: "Preparing..."
        row = _row(browser)
        key = "1" if truth[_data_row(pool_csv, row)] == "negative" else "2"
        _press(browser, key)
        _wait(browser, lambda: _row(browser) != row)
        return row

    first = [label_current() for _ in range(6)]
    _wait(browser, lambda: "Round 2 · text 1 of 6" in browser.find_element(By.ID, "where").text)
    stored = _stored(db)
    assert {row: stored[row] for row in first} == {
        row: (truth[_data_row(pool_csv, row)], 0) for row in first
    }
    # u: the last label is taken back and its text is shown again.
    _press(browser, "u")
    _wait(browser, lambda: _row(browser) == first[-1])
    assert first[-1] not in _stored(db)
    assert "Round 1 · text 6 of 6" in browser.find_element(By.ID, "where").text
    label_current()
    # s: skip.
    skipped = _row(browser)
    _press(browser, "s")
    _wait(browser, lambda: _row(browser) != skipped)
    assert _stored(db)[skipped] == (None, 1)
    current = _row(browser)
    browser.refresh()
    _wait(browser, lambda: _row(browser) is not None)
    assert _row(browser) == current
    # Stop the server, start it again on the same database: the same text is next.
    server.stop()
    server = label_server(args)
    browser.get(server.url + "/")
    _wait(browser, lambda: _row(browser) is not None)
    assert _row(browser) == current
    while "Round 3" not in browser.find_element(By.ID, "where").text:
        label_current()
        _wait(browser, lambda: _row(browser) is not None)
    counts = {
        row.find_elements(By.TAG_NAME, "td")[0].text: int(
            row.find_elements(By.TAG_NAME, "td")[1].text
        )
        for row in browser.find_elements(By.CSS_SELECTOR, "#counts tr")
    }
    stored = _stored(db)
    assert counts == {name: sum(1 for v in stored.values() if v[0] == name) for name in LABELS}
    assert sum(counts.values()) == 11 and len(stored) == 12
    _wait(
        browser, lambda: "Cross-validated accuracy" in browser.find_element(By.ID, "accuracy").text
    )
    _screenshot(browser, tmp_path / "labelling-offline.png")


def _screenshot(browser, shot: Path, docs_name: str | None = None, height: int = 760) -> None:
    browser.set_window_size(1000, height)  # tall enough for the panels below the buttons
    try:
        assert browser.save_screenshot(str(shot))
    finally:
        browser.set_window_size(1000, 760)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if docs_name and os.environ.get("ACTIVELLM_UPDATE_SCREENSHOT"):
        shutil.copy(shot, REPO / "docs" / "_static" / docs_name)


def test_a_script_in_a_text_is_shown_as_text(tmp_path: Path, label_server, browser) -> None:
    from selenium.webdriver.common.by import By

    pool = tmp_path / "texts.txt"
    pool.write_text(f"a fine film\n{SCRIPT_TEXT}\nan awful film\n", encoding="utf-8")
    db = tmp_path / "labels.sqlite"
    server = label_server(
        [str(pool), "--labels", "bad,good", "--db", str(db), "--strategy", "random"]
    )
    browser.get(server.url + "/")
    title = browser.title
    for _ in range(3):
        _wait(browser, lambda: _row(browser) is not None)
        if browser.find_element(By.ID, "text").text == SCRIPT_TEXT:
            break
        shown = _row(browser)
        _press(browser, "s")
        _wait(browser, lambda shown=shown: _row(browser) != shown)
    assert browser.find_element(By.ID, "text").text == SCRIPT_TEXT
    assert browser.find_elements(By.CSS_SELECTOR, "#text *") == []  # no element was parsed
    assert browser.title == title == "activellm-modal · label"


def test_two_tabs_on_the_same_text(tmp_path: Path, pool_csv: Path, label_server, browser) -> None:
    from selenium.webdriver.common.by import By

    db = tmp_path / "labels.sqlite"
    args = [str(pool_csv), "--labels", ",".join(LABELS), "--db", str(db), "--strategy", "random"]
    server = label_server(args)
    first_tab = browser.current_window_handle
    browser.get(server.url + "/")
    _wait(browser, lambda: _row(browser) is not None)
    shared = _row(browser)
    browser.switch_to.new_window("tab")
    second_tab = browser.current_window_handle
    browser.get(server.url + "/")
    _wait(browser, lambda: _row(browser) == shared)  # both tabs show the same text
    browser.switch_to.window(first_tab)
    _press(browser, "2")
    _wait(browser, lambda: _row(browser) != shared)
    browser.switch_to.window(second_tab)
    _press(browser, "1")  # too late: the first tab labelled it
    _wait(browser, lambda: _row(browser) != shared)
    assert "already labelled in another tab" in browser.find_element(By.ID, "notice").text
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT row, label FROM labels").fetchall() == [(shared, "positive")]
    _press(browser, "u")  # undo in this tab: it labelled nothing, so nothing is undone
    _wait(browser, lambda: "Nothing to undo" in browser.find_element(By.ID, "notice").text)
    assert len(_stored(db)) == 1
    browser.close()
    browser.switch_to.window(first_tab)


def _state(server) -> dict:
    import httpx

    return httpx.get(server.url + "/api/state", timeout=10).json()


def _text(browser, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.ID, element_id).text


def test_suggestions_and_the_learning_curve(
    tmp_path: Path, pool_csv: Path, label_server, browser, truth: dict[int, str], fake_llm
) -> None:
    import pandas as pd
    from selenium.webdriver.common.by import By

    frame = pd.read_csv(pool_csv)
    by_text = {
        text: truth.get(int(i), "negative")
        for i, text in zip(frame["idx"], frame["text"], strict=False)
    }
    fake_llm.default = suggesting_llm(by_text, invalid_every=5)  # [4] of a batch: no label
    db = tmp_path / "labels.sqlite"
    args = [str(pool_csv), "--labels", ",".join(LABELS), "--db", str(db), "--strategy", "random"]
    args += ["--batch-size", "5", "--base-url", fake_llm.url, "--model", "scripted-llm"]
    server = label_server(args)
    browser.get(server.url + "/")
    disagreed = None
    for n in range(20):
        _wait(browser, lambda: _row(browser) is not None)
        row = _row(browser)
        # The suggestion arrives from the worker's one call per batch; wait until it is shown.
        _wait(browser, lambda: "asking" not in _text(browser, "suggestion").lower())
        gold = truth.get(_data_row(pool_csv, row), "negative")  # the script text: no gold
        assert browser.find_element(By.ID, "text").is_displayed()
        assert not browser.find_element(By.ID, "pair").is_displayed()  # single texts: no pair
        marked = browser.find_elements(By.CSS_SELECTOR, "#buttons button.suggested")
        if "suggests:" in _text(browser, "suggestion"):
            assert [b.get_attribute("data-label") for b in marked] == [gold]
            assert "LLM suggests" in marked[0].text
        else:
            assert marked == [] and "no valid label" in _text(browser, "suggestion")
        # The person decides: once, against the suggestion.
        label = gold if n != 2 else LABELS[1 - LABELS.index(gold)]
        disagreed = row if n == 2 else disagreed
        _press(browser, str(LABELS.index(label) + 1))
        _wait(browser, lambda row=row: _row(browser) != row)
    _wait(browser, lambda: len(_state(server)["curve"]) == 3)  # retrained after 10, 15, 20
    state = _state(server)
    _wait(browser, lambda: len(browser.find_elements(By.CSS_SELECTOR, "#curve circle")) == 3)
    points = browser.find_elements(By.CSS_SELECTOR, "#curve svg circle.point")
    assert [int(p.get_attribute("data-n")) for p in points] == [10, 15, 20]
    assert [p["n_labels"] for p in state["curve"]] == [10, 15, 20]
    agreement = state["suggestions"]["agreement"]
    assert (agreement["n"], agreement["agree"]) == (16, 15)  # 4 texts had no valid label
    _wait(
        browser, lambda: "agrees with your labels on 94% (15 of 16)" in _text(browser, "agreement")
    )
    with sqlite3.connect(db) as conn:
        (human, llm) = conn.execute(
            "SELECT l.label, s.label FROM labels l JOIN suggestions s USING (row) WHERE row = ?",
            (disagreed,),
        ).fetchone()
    assert human != llm  # stored apart: the person's label is never the suggestion's
    assert len(fake_llm.chat_requests) == 5  # one call per batch, batch 5 included
    _wait(browser, lambda: _row(browser) is not None)
    _wait(browser, lambda: "suggests:" in _text(browser, "suggestion"))
    _screenshot(browser, tmp_path / "labelling.png", "labelling.png", height=1000)


def test_a_sentence_pair_task(
    tmp_path: Path, shared_dir: Path, label_server, browser, fake_llm
) -> None:
    import pandas as pd
    from selenium.webdriver.common.by import By

    mrpc = pd.read_csv(
        shared_dir / "datasets" / "mrpc" / "train.tsv", sep="\t", quoting=3, keep_default_na=False
    ).iloc[:8]
    mrpc.loc[len(mrpc)] = [9999, SCRIPT_TEXT, "<img src=x onerror=alert(1)>", 0]
    path = tmp_path / "pairs.csv"
    mrpc[["text_a", "text_b"]].to_csv(path, index=False)
    names = ["not_equivalent", "equivalent"]
    gold = {
        (a, b): names[int(y)]
        for a, b, y in zip(mrpc["text_a"], mrpc["text_b"], mrpc["label"], strict=False)
    }
    fake_llm.default = suggesting_llm(
        {f"text_a: {a} | text_b: {b}": y for (a, b), y in gold.items()}
    )
    db = tmp_path / "pairs.sqlite"
    args = [str(path), "--labels", ",".join(names), "--pair-columns", "text_a,text_b"]
    args += ["--db", str(db), "--strategy", "random", "--batch-size", str(len(mrpc))]
    server = label_server([*args, "--base-url", fake_llm.url, "--model", "scripted-llm"])
    browser.get(server.url + "/")
    for n in range(len(mrpc)):
        _wait(browser, lambda: _row(browser) is not None)
        _wait(browser, lambda: "suggests:" in _text(browser, "suggestion"))
        row = _row(browser)
        a, b = mrpc["text_a"].iloc[row], mrpc["text_b"].iloc[row]
        assert browser.find_element(By.ID, "pair").is_displayed()
        assert not browser.find_element(By.ID, "text").is_displayed()
        assert (_text(browser, "pair-a-name"), _text(browser, "pair-b-name")) == (
            "text_a",
            "text_b",
        )
        assert (_text(browser, "pair-a"), _text(browser, "pair-b")) == (a, b)
        assert browser.find_elements(By.CSS_SELECTOR, "#pair article *") == []  # text, never HTML
        (marked,) = browser.find_elements(By.CSS_SELECTOR, "#buttons button.suggested")
        assert marked.get_attribute("data-label") == gold[a, b]
        if n == 1:
            _screenshot(browser, tmp_path / "pairs.png", "labelling-pairs.png", height=700)
        _press(browser, str(names.index(gold[a, b]) + 1))  # keys as for single texts
        _wait(browser, lambda row=row: _row(browser) != row)
    assert browser.title == "activellm-modal · label"
    with sqlite3.connect(db) as conn:
        stored = dict(conn.execute("SELECT row, label FROM labels").fetchall())
        suggested = conn.execute("SELECT COUNT(*) FROM suggestions").fetchone()[0]
    assert suggested == len(stored) == len(mrpc)
    assert stored == {
        row: gold[mrpc["text_a"].iloc[row], mrpc["text_b"].iloc[row]] for row in range(len(mrpc))
    }


def test_a_failed_suggestion_call_leaves_the_page_usable(
    tmp_path: Path, label_server, browser, fake_llm
) -> None:
    from selenium.webdriver.common.by import By

    from tests.openai_server import Status

    pool = tmp_path / "texts.txt"
    pool.write_text("a fine film\nan awful film\na dull film\n", encoding="utf-8")
    fake_llm.push(Status(500, "overloaded"), Status(500, "overloaded"))  # the call and its retry
    fake_llm.default = suggesting_llm({"a fine film": "good", "a dull film": "bad"})
    args = [str(pool), "--labels", "bad,good", "--db", str(tmp_path / "l.sqlite")]
    args += ["--strategy", "random", "--base-url", fake_llm.url, "--model", "scripted-llm"]
    server = label_server(args)
    browser.get(server.url + "/")
    _wait(browser, lambda: "unavailable for batch 1" in _text(browser, "llm-note"))
    assert "HTTP 500" in _text(browser, "llm-note")
    assert "the LLM call failed" in _text(browser, "suggestion")
    assert browser.find_elements(By.CSS_SELECTOR, "#buttons button.suggested") == []
    row = _row(browser)
    _press(browser, "2")  # labelling goes on
    _wait(browser, lambda: _row(browser) != row)
    assert "Saved: good." in _text(browser, "notice")
    browser.find_element(By.ID, "retry").click()  # ask again: now the LLM answers
    _wait(browser, lambda: "suggests:" in _text(browser, "suggestion"))
    _wait(browser, lambda: _text(browser, "llm-note") == "")
    assert len(fake_llm.chat_requests) == 3
