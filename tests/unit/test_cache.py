"""The freshness cache forgets entries after their time and past its size."""

from fastapi_better_auth._cache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_their_ttl() -> None:
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(10, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2, ttl=30)
    clock.now = 10
    assert cache.get("a") is None
    assert cache.get("b") == 2
    assert len(cache) == 1


def test_least_recently_used_entry_is_evicted_past_maxsize() -> None:
    cache: TTLCache[str, int] = TTLCache(60, maxsize=2)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.set("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)


def test_discard_and_clear() -> None:
    cache: TTLCache[str, int] = TTLCache(60)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.discard("a")
    cache.discard("missing")
    assert cache.get("a") is None
    cache.clear()
    assert len(cache) == 0
