"""Telling a live owner process from a dead one: real processes, their real pids and start times."""

from __future__ import annotations

import dataclasses

from evalharness.ownership import ProcessIdentity, process_start
from tests.support.processes import finished_process


def test_this_process_is_alive() -> None:
    me = ProcessIdentity.current()
    assert me.state() == "alive"
    assert me.started == process_start(me.pid) != ""


def test_a_process_that_ended_is_gone() -> None:
    assert finished_process().state() == "gone"


def test_a_reused_pid_is_not_the_owner() -> None:
    me = ProcessIdentity.current()
    assert dataclasses.replace(me, started=str(int(me.started) + 1)).state() == "gone"


def test_an_owner_elsewhere_cannot_be_checked() -> None:
    me = ProcessIdentity.current()
    assert dataclasses.replace(me, host=me.host + "-elsewhere").state() == "unknown"
    assert dataclasses.replace(me, pid_namespace="pid:[1]").state() == "unknown"
    gone = finished_process()
    assert dataclasses.replace(gone, host=gone.host + "-elsewhere").state() == "unknown"


def test_identities_round_trip_and_incomplete_records_are_none() -> None:
    me = ProcessIdentity.current()
    assert ProcessIdentity.from_dict(me.to_dict()) == me
    assert ProcessIdentity.from_dict({k: str(v) for k, v in me.to_dict().items()}) == me  # as labels
    assert ProcessIdentity.from_dict(None) is None
    assert ProcessIdentity.from_dict({"host": me.host, "pid": me.pid}) is None
    assert ProcessIdentity.from_dict({**me.to_dict(), "pid": "not a number"}) is None
