"""The watched cache and what a writer tells it of its own writes."""

from __future__ import annotations

from akri_common.k8s.store import JsonObject, ObjectKey, Store

KEY = ObjectKey("ns", "cams-8120fe")


def instance(uid: str, version: str, nodes: list[str]) -> JsonObject:
    return {
        "metadata": {
            "namespace": "ns",
            "name": "cams-8120fe",
            "uid": uid,
            "resourceVersion": version,
        },
        "spec": {"nodes": nodes},
    }


def test_a_write_newer_than_the_watched_copy_replaces_it() -> None:
    store = Store()
    store.upsert(instance("u1", "10", ["a"]))
    store.written(instance("u1", "12", []))
    assert store.get(KEY) == instance("u1", "12", [])


def test_a_write_answer_older_than_the_watch_leaves_the_watched_copy() -> None:
    store = Store()
    store.upsert(instance("u1", "15", ["a", "b"]))  # the watch already brought another node's write
    store.written(instance("u1", "12", ["a"]))
    assert store.get(KEY) == instance("u1", "15", ["a", "b"])


def test_versions_that_are_not_numbers_are_left_to_the_watch() -> None:
    store = Store()
    store.upsert(instance("u1", "x10", ["a"]))
    store.written(instance("u1", "x12", []))
    assert store.get(KEY) == instance("u1", "x10", ["a"])


def test_a_written_object_under_a_new_uid_replaces_the_old_one() -> None:
    store = Store()
    store.upsert(instance("u1", "10", ["a"]))
    store.written(instance("u2", "3", ["a"]))
    assert store.get(KEY) == instance("u2", "3", ["a"])


def test_a_write_of_an_unknown_object_is_kept() -> None:
    store = Store()
    store.written(instance("u1", "10", ["a"]))
    assert store.get(KEY) == instance("u1", "10", ["a"])


def test_a_delete_forgets_only_the_object_it_deleted() -> None:
    store = Store()
    store.upsert(instance("u1", "10", ["a"]))
    store.deleted(KEY, "u1")
    assert store.get(KEY) is None
    store.upsert(instance("u2", "20", ["a"]))
    store.deleted(KEY, "u1")  # a delete of the older one does not remove its successor
    assert store.get(KEY) == instance("u2", "20", ["a"])
