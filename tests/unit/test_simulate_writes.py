"""`mender simulate`'s write figures from the GitHub simulator's request log."""

from __future__ import annotations

from starter.simulate_writes import writes_report


def request(method: str, at: float, status: int = 201) -> dict:
    return {"method": method, "path": "/repos/a/b/issues/1/labels", "status": status, "at": at}


def test_writes_taken_refused_and_the_busiest_minute() -> None:
    log = [request("GET", 0, 200), *(request("POST", t) for t in (0, 10, 59.5, 60, 61, 150))]
    log += [request("PUT", 61.5, 429), request("DELETE", 120, 204)]
    report = writes_report(log, logged_at_most=100)
    assert report == {
        "taken": 7,
        "refused_429": 1,
        "requests_counted": 9,
        "busiest_minute": 4,  # 10, 59.5, 60, 61
        "per_minute": 2.8,  # 7 over 150 s
        "log_full": False,
    }


def test_no_writes_and_a_full_log_say_so() -> None:
    report = writes_report([request("GET", 0, 200)], logged_at_most=1)
    assert report["taken"] == 0 and report["busiest_minute"] == 0 and report["per_minute"] is None
    assert report["log_full"]
