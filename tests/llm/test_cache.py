"""The on-disk answer cache: atomic, keyed by model and request, nothing secret."""

from __future__ import annotations

import json
import threading

from activellm_modal.llm.base import Completion, LLMRequest
from activellm_modal.llm.cache import AnswerCache, CachedBackend


def request(content: str = "choose", response_format=None) -> LLMRequest:
    return LLMRequest(
        messages=[{"role": "user", "content": content}], response_format=response_format
    )


class Counting:
    model = "m"

    def __init__(self):
        self.calls = 0

    def complete(self, req):
        self.calls += 1
        return Completion(f"answer {self.calls}", prompt_tokens=7, completion_tokens=3, model="m")


def test_key_depends_on_model_messages_and_format_only():
    key = AnswerCache.key
    assert key("a", request()) == key("a", request())
    assert key("a", request()) != key("b", request())
    assert key("a", request()) != key("a", request("other"))
    assert key("a", request()) != key("a", request(response_format={"type": "json_object"}))
    # The presented instances are metadata; the prompt already contains them.
    assert key("a", request()) == key("a", LLMRequest(request().messages, instances=("x",)))


def test_cached_backend_answers_repeats_from_disk(tmp_path):
    inner = Counting()
    backend = CachedBackend(inner, AnswerCache(tmp_path))
    first = backend.complete(request())
    second = CachedBackend(Counting(), AnswerCache(tmp_path)).complete(request())
    assert inner.calls == 1 and not first.cached and second.cached
    assert (second.text, second.prompt_tokens, second.completion_tokens) == ("answer 1", 7, 3)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and json.loads(files[0].read_text())["text"] == "answer 1"


def test_corrupt_or_foreign_entries_are_misses(tmp_path):
    cache = AnswerCache(tmp_path)
    key = cache.key("m", request())
    cache.put(key, Completion("ok"))
    path = next(p for p in tmp_path.rglob("*.json"))
    path.write_text("{not json")
    assert cache.get(key) is None
    path.write_text(json.dumps({"format": 999, "text": "old"}))
    assert cache.get(key) is None


def test_concurrent_writers_leave_a_whole_entry_and_no_temp_files(tmp_path):
    cache = AnswerCache(tmp_path)
    key = cache.key("m", request())
    threads = [
        threading.Thread(target=cache.put, args=(key, Completion("x" * 100_000 + str(i))))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get(key).text.startswith("x" * 100_000)
    assert [p.name for p in tmp_path.rglob(".tmp-*")] == []
