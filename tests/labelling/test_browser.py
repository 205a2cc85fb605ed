"""The page in a real headless Chromium: keys, undo, reload, restart, escaping, screenshot.

``ACTIVELLM_UPDATE_SCREENSHOT=1`` also writes the screenshot to
``docs/_static/labelling.png`` (the one the documentation shows).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.labelling.conftest import REPO, SCRIPT_TEXT

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
    shot = tmp_path / "labelling.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if os.environ.get("ACTIVELLM_UPDATE_SCREENSHOT"):
        shutil.copy(shot, REPO / "docs" / "_static" / "labelling.png")


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
