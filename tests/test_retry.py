"""The compare-and-swap retry loop every ref writer shares (``blacklake_ml.core.retry``)."""

from __future__ import annotations

import pytest

from blacklake_ml.core.retry import LOST, MAX_ATTEMPTS, Lost, backoff, retry_cas
from blacklake_ml.errors import CommitConflict, RefConflict, RefMoved


class Racer:
    """An attempt that loses ``losses`` races (recomputing after each) and then wins."""

    def __init__(self, losses: int, result: object = "won") -> None:
        self.losses = losses
        self.result = result
        self.calls = 0
        self.recomputes = 0

    def __call__(self) -> object:
        self.calls += 1
        if self.calls <= self.losses:
            self.recomputes += 1  # what a real attempt does before reporting LOST
            return LOST
        return self.result


class Waits:
    """A ``wait`` that records the lost-race counts it is given instead of sleeping."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def __call__(self, n: int) -> None:
        self.seen.append(n)


def never(*_: object) -> BaseException:
    raise AssertionError("give_up called although the attempt did not run out")


def test_succeeds_first_try_without_waiting() -> None:
    racer, waits = Racer(0), Waits()
    assert retry_cas(racer, give_up=never, wait=waits) == "won"
    assert (racer.calls, racer.recomputes, waits.seen) == (1, 0, [])


@pytest.mark.parametrize("k", [1, 3, MAX_ATTEMPTS - 1])
def test_succeeds_after_k_lost_races(k: int) -> None:
    racer, waits = Racer(k), Waits()
    assert retry_cas(racer, give_up=never, wait=waits) == "won"
    assert racer.calls == k + 1
    assert racer.recomputes == k
    assert waits.seen == list(range(k))  # one back-off per lost race, counting from 0


def test_none_is_a_result_not_a_lost_race() -> None:
    racer = Racer(2, result=None)
    assert retry_cas(racer, give_up=never, wait=None) is None
    assert racer.calls == 3


def test_gives_up_after_max_attempts_with_the_callers_error() -> None:
    racer, waits = Racer(10**6), Waits()
    with pytest.raises(CommitConflict, match="^gave up after 50 lost races on 'main'$") as ei:
        retry_cas(racer, wait=waits, give_up=lambda: CommitConflict(
            f"gave up after {MAX_ATTEMPTS} lost races on 'main'", ["a/b"]))
    assert MAX_ATTEMPTS == 50
    assert racer.calls == racer.recomputes == MAX_ATTEMPTS
    assert waits.seen == list(range(MAX_ATTEMPTS - 1))  # no sleep before giving up
    assert ei.value.__context__ is None  # raised fresh, not chained to anything


@pytest.mark.parametrize("attempts", [1, 5])
def test_attempts_is_the_callers_limit(attempts: int) -> None:
    racer = Racer(10**6)
    with pytest.raises(RefMoved, match="five"):
        retry_cas(racer, attempts=attempts, wait=None, give_up=lambda: RefMoved("five"))
    assert racer.calls == attempts


def test_give_up_is_built_only_when_giving_up() -> None:
    built: list[int] = []

    def give_up() -> BaseException:
        built.append(1)
        return RefConflict("gave up")

    assert retry_cas(Racer(3), give_up=give_up, wait=None) == "won"
    assert built == []


def test_an_error_from_the_attempt_propagates_at_once() -> None:
    calls, waits = [], Waits()

    def attempt() -> Lost:
        calls.append(1)
        if len(calls) == 3:  # e.g. the rebase found the same paths changed
            raise CommitConflict("changed concurrently at the same paths", ["x"])
        return LOST

    with pytest.raises(CommitConflict, match="same paths"):
        retry_cas(attempt, give_up=never, wait=waits)
    assert len(calls) == 3
    assert waits.seen == [0, 1]


def test_a_race_error_raised_by_the_attempt_is_not_retried() -> None:
    """Only LOST means "try again": a RefMoved escaping the attempt is not swallowed."""
    calls = []

    def attempt() -> str:
        calls.append(1)
        raise RefMoved("raised, not reported")

    with pytest.raises(RefMoved, match="raised, not reported"):
        retry_cas(attempt, give_up=never, wait=None)
    assert calls == [1]


def test_default_backoff_is_short_and_jittered(monkeypatch: pytest.MonkeyPatch) -> None:
    import blacklake_ml.core.retry as retry

    slept: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", slept.append)
    monkeypatch.setattr(retry.random, "random", lambda: 1.0)
    for n in (0, 1, 7, 8, 40):
        backoff(n)
    assert slept == [0.005, 0.01, 0.5, 0.5, 0.5]
