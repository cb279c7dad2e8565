"""Replay real webhook payloads written by other projects (``../shared/peer-payloads``, see its INDEX.md)
through the real webhook routes, signed as the platform signs them, then run the queued jobs.

Each file gets a fresh database and a tenant with one channel of the file's type (ids mapped to it as
INDEX.md says), a published flow that answers any message (``lead_capture``) and one that answers any
comment. What is counted at the fake APIs must match the file's expected behaviour: "reply" (at least
one reply), "no reply" (nothing sent), "reply or polite fallback" (media or unreadable content: stored as
a non-text message, and answered once: by the flow where it has a caption, else with the tenant's "I can
read text only" text, issue #19); nothing answers 5xx and no stored event ends ``failed``. A channel type
the registry does not have yet is skipped with the reason and joins by itself once a connector registers it.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.channels.registry import connector_types, get_connector
from flows import i18n
from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import events, publish_templates

PEER_DIR = Path(os.environ.get("PEER_PAYLOADS_DIR")
                or Path(__file__).resolve().parents[3] / "shared" / "peer-payloads")


@dataclass(frozen=True)
class Platform:
    """What a file's channel part ("<source>__<channel>_<what>.json") stands for."""

    name: str
    meta_object: str | None  # the Meta webhook "object"; None: a per-channel webhook URL (Telegram)
    account: str = ""  # the test channel's account id, what the payload's ids are mapped to

    def connector_type(self) -> str | None:
        """The registered connector for it (Meta ones found by the ``object`` they parse, whatever their
        name), or None while there is none."""
        for name in connector_types():
            found = getattr(get_connector(name), "meta_object", None)
            if (found == self.meta_object) if self.meta_object else name == self.name:
                return name
        return None


PLATFORMS = {"ig": Platform("instagram", "instagram", "17841400000000777"),
             "wa": Platform("whatsapp", "whatsapp_business_account", "109000000000777"),
             "fb": Platform("messenger", "page", "100000000000777"),
             "tg": Platform("telegram", None)}


@dataclass(frozen=True)
class Case:
    file: str
    platform: Platform
    expected: str  # "reply" | "none" | "fallback"
    once: bool  # "reply once" / "once, not per attachment": at most one message of the file is answered
    routable: bool  # False: the file's account id is a placeholder nobody can own ("REDACTED")

    @property
    def id(self) -> str:
        return self.file.removesuffix(".json")


def _expected(text: str) -> str:
    text = text.strip().lower()
    if text.startswith("reply or polite fallback"):
        return "fallback"
    if text.startswith("no reply"):
        return "none"
    if text.startswith("reply"):
        return "reply"
    raise ValueError(f"unknown expectation {text!r} in INDEX.md")


def _cases() -> list[Case]:
    index = PEER_DIR / "INDEX.md"
    if not index.is_file():
        return []
    cases = []
    for line in index.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6 or not cells[0].endswith(".json"):
            continue
        file, expected, ids = cells[0], cells[4], cells[5]
        match = re.match(r"^[^_]+(?:-[^_]+)*__([a-z]+)_", file)
        assert match, f"cannot tell the channel of {file}"
        assert match.group(1) in PLATFORMS, f"unknown channel {match.group(1)!r} in {file}"
        cases.append(Case(file, PLATFORMS[match.group(1)], _expected(expected), "once" in expected.lower(),
                          "unroutable" not in ids.lower()))
    return cases


CASES = _cases()


def test_the_corpus_is_there_and_indexed():
    if not PEER_DIR.is_dir():
        pytest.skip(f"no peer payload corpus at {PEER_DIR} (set PEER_PAYLOADS_DIR)")
    files = sorted(p.name for p in PEER_DIR.glob("*.json"))
    assert files and sorted(c.file for c in CASES) == files, "every payload file has one INDEX.md row"


# --- turning a file into what its platform would send to this test channel --------------------------------

def _map_meta_ids(payload: dict[str, Any], meta_object: str, account: str) -> None:
    """INDEX.md's mapping: Instagram/Messenger entry[].id (and an Instagram item's recipient.id, and
    wherever the original account id appears as a party); WhatsApp value.metadata.phone_number_id."""
    for entry in payload.get("entry") or []:
        if not isinstance(entry, dict):
            continue
        if meta_object == "whatsapp_business_account":
            for change in entry.get("changes") or []:
                metadata = (change.get("value") or {}).get("metadata") if isinstance(change, dict) else None
                if isinstance(metadata, dict) and "phone_number_id" in metadata:
                    metadata["phone_number_id"] = account
            continue
        original = entry.get("id")
        entry["id"] = account
        for key in ("messaging", "standby"):
            for item in entry.get(key) or []:
                for role in ("sender", "recipient"):
                    party = item.get(role) if isinstance(item, dict) else None
                    if isinstance(party, dict) and (party.get("id") == original
                                                    or (role == "recipient" and meta_object == "instagram")):
                        party["id"] = account


def _complete(payload: dict[str, Any], meta_object: str) -> dict[str, Any]:
    """Meta always sends the top-level ``object`` and each change's ``field``; some fixtures are copies
    without them (what the app does with those as they are is checked separately)."""
    payload.setdefault("object", meta_object)
    if meta_object == "whatsapp_business_account":
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or [] if isinstance(entry, dict) else []:
                if isinstance(change, dict):
                    change.setdefault("field", "messages")
    return payload


@dataclass
class Replay:
    client: Any
    wired: Any
    channel: Any
    url: str
    headers: Any  # (raw body) -> headers

    def post(self, raw: bytes) -> Any:
        return self.client.post(self.url, data=raw, headers=self.headers(raw))

    def sends(self) -> list[Any]:
        """Every message sent to a customer at the fake APIs (WhatsApp read receipts are not messages)."""
        graph = [r for r in self.wired.graph.requests if r.method == "POST"
                 and (r.path.endswith("/replies") or (r.path.endswith("/messages")
                                                      and (r.json or {}).get("status") != "read"))]
        return graph + self.wired.telegram.sent


@pytest.fixture()
def replay_channel(client, wired, make_tenant, db, app):
    """A PRO tenant with one channel of the asked type, a flow that answers anything and a flow that
    answers any Instagram comment, plus how to post a signed webhook to it."""
    from webapp.models import Flow
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow, publish, template_document

    def tenant_flows(tenant: Any) -> list[Any]:
        return list(db.session.query(Flow).filter_by(tenant_id=tenant.id))

    def build(channel_type: str, account: str) -> Replay:
        tenant = make_tenant("Peer replay", plan="PRO")
        connector = get_connector(channel_type)
        if getattr(connector, "meta_object", None):
            channel = add_channel(tenant, channel_type, external_id=account, token="peer-token")
            secret = app.config["META_APP_SECRET"]

            def headers(raw: bytes) -> dict[str, str]:
                return mp.signed_headers(raw, secret)
        else:
            channel = add_channel(tenant, channel_type, token=wired.telegram.token)
            hook_secret = wired.telegram.webhooks[wired.telegram.token]["secret_token"]

            def headers(raw: bytes) -> dict[str, str]:
                return {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": hook_secret}
        # First in the tenant's order: lead_capture's catch-all trigger would take comments too, and its
        # plain replies cannot answer a comment.
        any_comment = template_document("instagram_comment_to_dm")
        for node in any_comment["nodes"]:
            if node["type"] == "trigger":
                node["data"]["keywords"] = []
        publish(create_flow(tenant, "Any comment to DM", any_comment))
        publish_templates(tenant, "lead_capture")
        tenant.default_flow_id = next(f.id for f in tenant_flows(tenant) if f.name == "Lead capture")
        db.session.commit()
        url = connector.webhook_path.format(channel_id=channel.id, public_key=channel.public_key)
        return Replay(client, wired, channel, url, headers)

    return build


# --- the replay ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_peer_payload(case: Case, replay_channel, wired, db):
    channel_type, meta_object = case.platform.connector_type(), case.platform.meta_object
    if channel_type is None:
        pytest.skip(f"{case.file}: no {case.platform.name} connector is registered (connectors.channels.registry) yet; "
                    "this file is replayed once one is")
    replay = replay_channel(channel_type, case.platform.account)
    verbatim = (PEER_DIR / case.file).read_bytes()
    payload = json.loads(verbatim)
    if meta_object:
        # As the file is (unmapped ids, maybe no "object"): refused or acknowledged, never a server error.
        raw = mp.encode(payload)
        answer = replay.post(raw)
        assert answer.status_code in (200, 400), answer.get_data(as_text=True)
        assert events(db) == [], "the file's own ids belong to no channel"
        payload = _complete(copy.deepcopy(payload), meta_object)
        if case.routable:
            _map_meta_ids(payload, meta_object, case.platform.account)
        raw = mp.encode(payload)
    else:
        raw = verbatim
    answer = replay.post(raw)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    wired.queue.drain()

    stored = events(db)
    if not case.routable:
        assert stored == [], "an id nobody owns is acknowledged and dropped"
    failed = [(e.external_id, e.error) for e in stored if e.status == "failed"]
    assert not failed, f"jobs failed: {failed}"

    from webapp.models import Message

    db.session.expire_all()
    out = db.session.query(Message).filter_by(direction="out").all()
    assert [m for m in out if m.delivery_status not in ("sent", "skipped")] == [], \
        [(m.text, m.delivery_status, m.error) for m in out]
    sent = [m for m in out if m.delivery_status == "sent"]
    sends = replay.sends()
    assert len(sends) == len(sent), "every message the APIs got is recorded as sent, and only those"
    answered = {m.event_id for m in sent}
    customers = {e.user_id for e in stored}
    for request in sends:  # WhatsApp: by phone number, or by BSUID for a username-only customer
        body = request.json if isinstance(request.json, dict) else {}
        if body.get("messaging_product") == "whatsapp":
            assert (body.get("to") or body.get("recipient")) in customers, body
    if case.expected == "reply":
        assert sends, f"{case.file}: expected a reply, got none (events: "\
                      f"{[(e.kind, e.status, e.reason) for e in stored]})"
    elif case.expected == "none":
        assert sends == [], f"{case.file}: expected no reply, sent {[r.json for r in sends]}"
    elif case.expected == "fallback":
        _answered_once_as_media(case, db, sent)
    if case.once:
        assert len(answered) <= 1, f"{case.file}: {len(answered)} messages answered, expected one"


def _answered_once_as_media(case: Case, db: Any, sent: list[Any]) -> None:
    """A media or unreadable message is stored as one (its kind in the payload, never "text") and gets one
    answer: the flow's to a caption, the tenant's text-only reply (English here) to a message without text."""
    from webapp.models import Message

    fallback = i18n.text("media.text_only")
    received = db.session.query(Message).filter_by(direction="in").all()
    assert received, f"{case.file}: the message was not stored"
    for message in received:
        assert (message.payload or {}).get("content") not in (None, "text"), \
            f"{case.file}: stored as {(message.payload or {}).get('content')!r}, media {message.payload.get('media')}"
        replies = [m.text for m in sent if m.event_id == message.event_id]
        if (message.text or "").strip():
            assert replies and fallback not in replies, f"{case.file}: a caption is answered by the flow: {replies}"
        else:
            assert replies == [fallback], f"{case.file}: expected the text-only reply once, got {replies}"
