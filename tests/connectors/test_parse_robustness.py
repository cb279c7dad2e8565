"""parse() on hostile and malformed bodies: only PayloadError (the route answers 400) or a list of events
whose ids fit where they are stored; never another exception (a 500, or an event acknowledged and then
failing in the worker).

The fuzz part mutates real payloads (the peer corpus when present, plus our own builders) one place at a
time (every key and list item replaced by every value of the wrong type, or deleted) and a few places at
a time (seeded, so a failure repeats), and feeds them to every connector.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.channels.base import (
    MAX_ACCOUNT_ID,
    MAX_EXTERNAL_ID,
    MAX_USER_ID,
    PayloadError,
    load_json_object,
    to_seconds,
)
from connectors.channels.events import EVENT_KINDS, InboundEvent
from connectors.channels.meta import parse_meta_payload
from connectors.channels.registry import connector_types, get_connector
from tests.fakes import meta_payloads as mp

PEER_DIR = Path(__file__).resolve().parents[3] / "shared" / "peer-payloads"


# --- the body as a whole ----------------------------------------------------------------------------------

DEEP_BODIES = [b"[" * 100_000, b'{"a":' * 100_000, b'{"update_id": 1, "message": ' + b"[" * 50_000]


@pytest.mark.parametrize("raw", DEEP_BODIES, ids=["list", "object", "inside-update"])
def test_deep_nesting_is_a_payload_error(raw):
    with pytest.raises(PayloadError, match="nested too deeply|not valid JSON"):
        load_json_object(raw)
    for name in connector_types():
        with pytest.raises(PayloadError):
            get_connector(name).parse(raw, account_id="1")
    with pytest.raises(PayloadError):
        parse_meta_payload(raw)


@pytest.mark.parametrize("raw", [
    b'{"update_id": NaN}', b'{"update_id": 1, "x": Infinity}', b'{"update_id": 1, "x": -Infinity}',
    b'{"update_id": 1, "x": 1e999}', b'{"update_id": ' + b"1" * 5000 + b"}",
], ids=["nan", "infinity", "minus-infinity", "overflowing-float", "5000-digit-int"])
def test_numbers_json_does_not_have_are_refused(raw):
    """Python's decoder takes NaN/Infinity and turns 1e999 into infinity: no platform sends them and
    PostgreSQL's JSON refuses them, so one such body would fail every event stored with it."""
    with pytest.raises(PayloadError):
        load_json_object(raw)


@pytest.mark.parametrize("value", [10**400, "9" * 400, "nan", "inf", "-1", "TIMESTAMP", "2021-09-08T06:34:04+0000",
                                   True, [1], {"a": 1}, 1e300])
def test_implausible_times_are_no_time(value):
    assert to_seconds(value) is None


def test_times_in_seconds_and_milliseconds():
    assert to_seconds(1700000000) == 1700000000 and to_seconds("1700000000") == 1700000000
    assert to_seconds(1700000000123) == pytest.approx(1700000000.123)


# --- ids that cannot be stored ----------------------------------------------------------------------------

def _tg(user_id: Any = 42, chat_id: Any = 42, message_id: Any = 1) -> bytes:
    message = {"message_id": message_id, "date": 1, "text": "hi", "chat": {"id": chat_id, "type": "private"},
               "from": {"id": user_id, "is_bot": False, "first_name": "A"}}
    return json.dumps({"update_id": 1, "message": message}).encode()


def test_telegram_ids_of_absurd_length_are_dropped_and_acknowledged():
    """A 400-digit user id used to be acknowledged, then fail in the worker (varchar(128))."""
    tg = get_connector("telegram")
    assert tg.parse(_tg(user_id=int("9" * 400))) == []
    assert tg.parse(_tg(chat_id=int("9" * 400), user_id=int("9" * 400))) == []
    assert tg.parse(_tg(message_id=int("9" * 300))) == []
    [ok] = tg.parse(_tg(user_id=int("9" * 15), chat_id=int("9" * 15)))
    assert ok.user_id == "9" * 15


def test_meta_ids_of_absurd_length_drop_their_event_not_the_batch():
    long = "x" * 300
    entry = mp.ig_dm_entry("1784", [mp.ig_dm(long, "mid.1", "hi"), mp.ig_dm("U1", long, "hi"),
                                    mp.ig_dm("U2", "mid.ok", "hi")])
    assert [e.external_id for e in parse_meta_payload(mp.encode(mp.instagram_payload(entry)))] == ["mid.ok"]
    comments = mp.ig_changes_entry("1784", [mp.ig_comment_change("9" * 100, "price?", user_id="U1"),
                                            mp.ig_comment_change("179", "price?", user_id="U1")])
    assert [e.external_id for e in parse_meta_payload(mp.encode(mp.instagram_payload(comments)))] == ["179"]
    too_long_account = mp.ig_dm_entry("1" * 200, [mp.ig_dm("U3", "mid.3", "hi")])
    assert parse_meta_payload(mp.encode(mp.instagram_payload(too_long_account))) == []
    wa = mp.wa_change("PNID", messages=[mp.wa_text("wamid." + "A" * 300, "hi"), mp.wa_text("wamid.ok", "hi"),
                                        mp.wa_text("wamid.2", "hi", wa_id="1" * 200)])
    assert [e.external_id for e in parse_meta_payload(mp.encode(mp.whatsapp_payload(mp.wa_entry("W", [wa]))))
            ] == ["wamid.ok"]


def test_webchat_ids_fit_the_external_id_and_name_the_message_after_the_first_colon():
    wc = get_connector("webchat")
    [event] = wc.parse(json.dumps({"visitor_id": "v" * 128, "client_message_id": "m:" + "c" * 62,
                                   "text": "hi"}).encode(), account_id="1")
    assert len(event.external_id) <= MAX_EXTERNAL_ID and event.external_id.split(":", 1)[1] == "m:" + "c" * 62
    for body in ({"visitor_id": "a:b", "client_message_id": "c", "text": "hi"},
                 {"visitor_id": "v", "client_message_id": "c" * 65, "text": "hi"},
                 {"visitor_id": 5, "client_message_id": "c", "text": "hi"}):
        with pytest.raises(PayloadError):
            wc.parse(json.dumps(body).encode(), account_id="1")


def test_nul_and_lone_surrogates_in_text_do_not_break_parsing():
    """Cleaning the text is the pipeline's job at ingest; parsing must simply survive it."""
    text = "a\u0000b\ud800c"
    raw = json.dumps({"update_id": 1, "message": {"message_id": 1, "date": 1, "text": text,
                                                  "chat": {"id": 7, "type": "private"},
                                                  "from": {"id": 7, "first_name": "\udfff"}}}).encode()
    [event] = get_connector("telegram").parse(raw)
    assert event.text == text
    [dm] = parse_meta_payload(mp.ig_dm_body("1784", "U\u0000", "mid.\ud800", text))
    assert dm.text == text


# --- fuzzing with real payloads ---------------------------------------------------------------------------

def _corpus() -> list[tuple[str, str, bytes]]:
    """(name, channel type, raw body): the peer corpus and bodies our builders make."""
    built = [
        ("ig_dm", "instagram", mp.ig_dm_body("1784", "U1", "mid.1", "hi")),
        ("ig_comment", "instagram", mp.ig_comment_body("1784", "c1", "price?", "U1", parent_id="c0")),
        ("ig_quick_reply", "instagram", mp.encode(mp.instagram_payload(mp.ig_dm_entry(
            "1784", [mp.ig_dm("U1", "mid.2", "Yes", quick_reply="YES",
                              attachments=[{"type": "image", "payload": {"url": "https://x"}}])])))),
        ("wa_text", "whatsapp", mp.wa_text_body("PNID", "wamid.1", "hi")),
        ("wa_status", "whatsapp", mp.wa_status_body("PNID", "wamid.1", "failed", errors=[{"code": 1}])),
        ("tg_text", "telegram", mp.tg_update(1, "hi")),
        ("tg_edit", "telegram", mp.tg_update(2, "hi", edited=True)),
        ("tg_callback", "telegram", mp.tg_callback(3, "Yes")),
        ("webchat", "webchat", json.dumps({"visitor_id": "v1", "client_message_id": "m1", "text": "hi",
                                           "page_url": "https://shop/", "name": "Ann"}).encode()),
    ]
    prefixes = {"ig": "instagram", "wa": "whatsapp", "tg": "telegram", "fb": "messenger"}
    peers = []
    if PEER_DIR.is_dir():
        for path in sorted(PEER_DIR.glob("*.json")):
            channel = prefixes.get(path.name.split("__", 1)[-1].split("_", 1)[0], "")
            peers.append((path.stem, channel, path.read_bytes()))
    return built + peers


CORPUS = _corpus()


def _deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


WRONG_VALUES: list[Any] = [None, True, False, 0, -1, 2**70, 10**400, 1.5, "", "x", "9" * 500, "x" * 5000,
                           "\u0000", "\ud800", [], [None], ["x"], [{}], {}, {"id": {}}, _deep(150)]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield path + (key,)
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield path + (index,)
            yield from _paths(value, path + (index,))


_DELETE = object()


def _mutated(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    parent = copy
    for step in path[:-1]:
        parent = parent[step]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


def _parsers(channel: str) -> list[tuple[str, Any]]:
    """Every way the app parses a body of that channel (Meta bodies through the shared dispatch too)."""
    out = []
    for name in connector_types():
        connector = get_connector(name)
        out.append((name, lambda raw, c=connector: c.parse(raw, account_id="42")))
        if name == "telegram":
            out.append(("telegram+groups", lambda raw, c=connector: c.parse(raw, account_id="42",
                                                                             settings={"allow_groups": True})))
    out.append(("meta", parse_meta_payload))
    return out


def _check(events: Any, where: str) -> None:
    assert isinstance(events, list), where
    for event in events:
        assert isinstance(event, InboundEvent), where
        assert event.kind in EVENT_KINDS, where
        for value, limit in ((event.external_id, MAX_EXTERNAL_ID), (event.user_id, MAX_USER_ID),
                             (event.account_id, MAX_ACCOUNT_ID)):
            assert isinstance(value, str) and len(value) <= limit, f"{where}: {value[:60]!r}"
        assert event.external_id, where
        assert isinstance(event.text, str) and isinstance(event.meta, dict), where
        assert isinstance(event.media, list) and all(isinstance(m, dict) for m in event.media), where
        assert event.timestamp is None or math.isfinite(event.timestamp), where
        json.dumps(event.to_dict(), allow_nan=False)  # what the webhook stores: strict JSON


def _feed(raw: bytes, where: str) -> None:
    for name, parse in _parsers(""):
        try:
            events = parse(raw)
        except PayloadError:
            continue
        _check(events, f"{where} via {name}")


@pytest.mark.parametrize("name,channel,raw", CORPUS, ids=[c[0] for c in CORPUS])
def test_mutated_payloads_give_payload_error_or_sane_events(name, channel, raw, caplog):
    """Every key and list item of a real payload replaced by each wrong-typed value, or deleted; then
    100 random multi-place mutations (seeded by the file name)."""
    caplog.set_level(logging.WARNING)
    document = json.loads(raw)
    if isinstance(document, dict) and "object" not in document and channel in ("instagram", "whatsapp"):
        document["object"] = {"instagram": "instagram", "whatsapp": "whatsapp_business_account"}[channel]
    _feed(raw, name)
    paths = list(_paths(document))
    for path in paths:
        for value in [*WRONG_VALUES, _DELETE]:
            _feed(json.dumps(_mutated(document, path, value)).encode(), f"{name} {path}={value!r:.40}")
    rng = random.Random(name)
    for round_ in range(100):
        mutated = document
        for path in rng.sample(paths, min(len(paths), rng.randint(2, 5))):
            try:
                mutated = _mutated(mutated, path, rng.choice([*WRONG_VALUES, _DELETE]))
            except (KeyError, IndexError, TypeError):  # an earlier mutation removed this place
                continue
        _feed(json.dumps(mutated).encode(), f"{name} random round {round_}")
    bugs = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bugs, f"a parser raised and only the per-item safety net kept it from a 500: {bugs[:3]}"
