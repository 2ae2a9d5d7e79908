"""`RecentReads`: an answer is reused for one change count and at most `ttl` seconds."""

from __future__ import annotations

from collections.abc import Callable

from remediator.store.recent_reads import RecentReads


class Source:
    """A read that counts its calls, a version and a clock the test moves."""

    def __init__(self) -> None:
        self.version = 0
        self.seconds = 100.0
        self.reads = 0

    def read(self, answer: str = "rows") -> Callable[[], str]:
        def run() -> str:
            self.reads += 1
            return f"{answer}#{self.reads}"
        return run

    def cache(self, ttl: float = 1.0, max_entries: int = 256) -> RecentReads[str, str]:
        return RecentReads(version=lambda: self.version, ttl=ttl, max_entries=max_entries,
                           seconds=lambda: self.seconds)


def test_the_same_question_is_answered_once_while_nothing_changed() -> None:
    source = Source()
    cache = source.cache()
    assert cache.get("ns", source.read()) == "rows#1"
    source.seconds += 0.9
    assert cache.get("ns", source.read()) == "rows#1"
    assert cache.get("other", source.read()) == "rows#2"
    assert source.reads == 2


def test_a_moved_count_reads_again() -> None:
    source = Source()
    cache = source.cache()
    cache.get("ns", source.read())
    source.version += 1
    assert cache.get("ns", source.read()) == "rows#2"
    assert cache.get("ns", source.read()) == "rows#2"


def test_an_answer_older_than_the_ttl_is_read_again() -> None:
    source = Source()
    cache = source.cache(ttl=1.0)
    cache.get("ns", source.read())
    source.seconds += 1.0
    assert cache.get("ns", source.read()) == "rows#2"


def test_a_clock_that_stepped_back_reads_again() -> None:
    source = Source()
    cache = source.cache(ttl=1.0)
    cache.get("ns", source.read())
    source.seconds -= 3600
    assert cache.get("ns", source.read()) == "rows#2"


def test_a_commit_during_the_read_is_not_hidden_by_its_answer() -> None:
    """The version is taken before reading: an answer that may predate a commit
    racing it is used once and not kept."""
    source = Source()
    cache = source.cache()

    def read_while_a_commit_lands() -> str:
        source.version += 1
        return source.read()()

    assert cache.get("ns", read_while_a_commit_lands) == "rows#1"
    assert cache.get("ns", source.read()) == "rows#2"
    assert cache.get("ns", source.read()) == "rows#2"


def test_it_keeps_at_most_max_entries_and_drops_the_oldest() -> None:
    source = Source()
    cache = source.cache(max_entries=2)
    cache.get("a", source.read())
    cache.get("b", source.read())
    cache.get("c", source.read())
    assert cache.get("c", source.read()) == "rows#3"
    assert cache.get("b", source.read()) == "rows#2"
    assert cache.get("a", source.read()) == "rows#4"


def test_a_reader_with_an_older_version_neither_reuses_nor_evicts() -> None:
    """A thread that took the count before another saw it move gets its own read,
    and the newer answers stay."""
    source = Source()
    cache = source.cache()
    source.version = 2
    assert cache.get("ns", source.read()) == "rows#1"
    source.version = 1  # as seen by a thread that took the count earlier
    assert cache.get("ns", source.read()) == "rows#2"
    source.version = 2
    assert cache.get("ns", source.read()) == "rows#1"
