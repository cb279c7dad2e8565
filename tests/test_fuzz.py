"""Fuzzing the public edges (issue 14): signed Meta and Telegram webhooks, the web chat, the flow API and
the back-office forms get NUL, unpaired surrogates, deep nesting, huge integers, NaN/Infinity and JSON of
the wrong type, and must never answer 5xx; and valid input keeps its outcome (a valid draft still saves, a
valid web-chat message or webhook still stores its event, a valid profile still saves), so a catch-all 400
fails here.

Bounded and deterministic: `derandomize=True`, a few dozen examples per test, no example database.
"""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.api.conftest import Api
from tests.fakes import meta_payloads as mp
from tests.helpers.web import csrf_token, login

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
IG_ACCOUNT = "17841400000000321"
META_SECRET = "test-app-secret"
TG_SECRET = "fuzz-telegram-secret"

# ---- strategies ----

BAD_CHARS = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff"]
nasty_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.sampled_from(["a", " ", "é", "👋", "\n", "%", "0", *BAD_CHARS]), max_size=10),
    st.sampled_from(["", " ", "\x00", "\ud800", "a\x00b", "\udfffz", "x" * 5000, "9" * 400, "draft", "-1"]),
)
huge_int = st.one_of(st.integers(-3, 3), st.sampled_from(
    [2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1, 10**400]))
scalar = st.one_of(st.none(), st.booleans(), huge_int, st.floats(), nasty_text)  # NaN, ±Infinity included
json_value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(nasty_text, inner, max_size=3)),
                          max_leaves=8)
deep_raw = st.builds(lambda n, kind: ("[" * n + "]" * n) if kind == "list" else ('{"a":' * n + "1" + "}" * n),
                     st.integers(30, 5000), st.sampled_from(["list", "dict"])).map(str.encode)
# Ordinary text: anything a person may type (no NUL, no unpaired surrogate, no other control character).
valid_text = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=60) \
    .filter(lambda s: s.strip())


def encode(value: Any, *, raw_surrogates: bool = False) -> bytes:
    """JSON bytes; lone surrogates go out as `\\ud800` escapes, or with `raw_surrogates` as the bytes
    an encoder with `surrogatepass` writes."""
    if raw_surrogates:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    return json.dumps(value).encode()


body_of = st.one_of(
    json_value.map(encode),
    json_value.map(lambda v: encode(v, raw_surrogates=True)),
    deep_raw,
    st.binary(max_size=40),
)


def replace_leaf(document: Any, data: st.DataObject, value: Any) -> Any:
    """`document` with one randomly chosen value (at any depth) replaced by `value`, or a key added."""
    document = copy.deepcopy(document)
    node: Any = document
    while True:
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node, key=str)))
            if data.draw(st.booleans()) or not isinstance(node[key], dict | list) or not node[key]:
                if data.draw(st.booleans()):
                    node[key] = value
                else:
                    node[data.draw(nasty_text)] = value
                return document
            node = node[key]
        elif isinstance(node, list) and node:
            index = data.draw(st.integers(0, len(node) - 1))
            if data.draw(st.booleans()) or not isinstance(node[index], dict | list) or not node[index]:
                node[index] = value
                return document
            node = node[index]
        else:
            return value


def _q(text: str) -> str:
    """Percent-encoded by hand: the test client cannot encode a lone surrogate, a browser or a script can."""
    return quote(text.encode("utf-8", "surrogatepass"))


def form_body(fields: dict[str, str]) -> bytes:
    return "&".join(f"{_q(k)}={_q(v)}" for k, v in fields.items()).encode()


def assert_not_5xx(resp: Any, what: Any) -> None:
    assert resp.status_code < 500, (resp.status_code, repr(what)[:300], resp.get_data(as_text=True)[:300])


# ---- the world the requests go to ----

class World(SimpleNamespace):
    def __repr__(self) -> str:  # Hypothesis prints the fixture with every failing example
        return "<fuzz world>"


@pytest.fixture()
def world(app, db, make_tenant, monkeypatch):
    from webapp.extensions import limiter
    from webapp.models import Channel, Lead
    from webapp.services.channels import add_channel
    from webapp.services.flows import seed_templates_for

    for key in ("WEBCHAT_RATE_LIMIT", "SIMULATE_RATE_LIMIT"):
        monkeypatch.setitem(app.config, key, "100000 per minute")
    limiter.reset()
    tenant = make_tenant("Fuzz")
    seed_templates_for(tenant, ["lead_capture"], publish_now=True)
    ig = add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token="IGQV-fuzz")
    web = add_channel(tenant, "webchat")
    tg = Channel(tenant_id=tenant.id, type="telegram", external_id="7000000321", name="Bot", settings={},
                 webhook_state={}, credentials={"token": "7000000321:AAfuzz", "webhook_secret": TG_SECRET})
    lead = Lead(tenant_id=tenant.id, source_channel="webchat", fields={"name": "Ann"}, status="new", note="")
    db.session.add_all([tg, lead])
    db.session.commit()
    client = app.test_client()
    assert login(client, tenant.owner_email, tenant.owner_password).status_code == 302
    api = Api(client, csrf_token(client))
    flow = api.post("/flows", {"name": "Fuzzed", "template": "lead_capture"}).get_json()
    return World(tenant=tenant, ig=ig, web=web, tg=tg.id, lead=lead.id, client=client, api=api,
                           flow=flow, anon=app.test_client(), token=api.token)


def _event(db: Any, channel_id: int, external_id: str) -> Any:
    from webapp.models import InboundEvent

    db.session.expire_all()
    return db.session.scalar(select(InboundEvent).where(InboundEvent.channel_id == channel_id,
                                                        InboundEvent.external_id == external_id))


# ---- signed webhooks ----

def _ig_body(data: st.DataObject) -> bytes:
    message = {"mid": data.draw(st.one_of(nasty_text, huge_int, json_value)),
               "text": data.draw(st.one_of(nasty_text, json_value))}
    messaging = {"sender": {"id": data.draw(st.one_of(nasty_text, huge_int, json_value))},
                 "recipient": {"id": IG_ACCOUNT}, "timestamp": data.draw(st.one_of(huge_int, nasty_text)),
                 "message": data.draw(st.one_of(st.just(message), json_value))}
    payload = {"object": "instagram", "entry": [{"id": IG_ACCOUNT, "time": data.draw(huge_int),
                                                 "messaging": [messaging]}]}
    return encode(payload, raw_surrogates=data.draw(st.booleans()))


@FUZZ
@given(data=st.data())
def test_signed_meta_webhook_never_5xx(world, data):
    raw = _ig_body(data) if data.draw(st.booleans(), label="shaped") else data.draw(body_of, label="body")
    resp = world.anon.post("/webhooks/meta", data=raw,
                           headers={"Content-Type": "application/json", **mp.signed_headers(raw, META_SECRET)})
    assert_not_5xx(resp, raw[:300])


@FUZZ
@given(text=valid_text, n=st.integers(0, 10**6))
def test_valid_meta_webhook_still_stores_its_event(world, db, text, n):
    mid = f"mid.fuzz.{n}"
    raw = mp.ig_dm_body(IG_ACCOUNT, f"IGSID-{n}", mid, text)
    resp = world.anon.post("/webhooks/meta", data=raw,
                           headers={"Content-Type": "application/json", **mp.signed_headers(raw, META_SECRET)})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert _event(db, world.ig.id, mid) is not None


def _tg_body(data: st.DataObject) -> bytes:
    update = {"update_id": data.draw(huge_int),
              "message": {"message_id": data.draw(st.one_of(huge_int, nasty_text)),
                          "date": data.draw(huge_int),
                          "chat": {"id": data.draw(st.one_of(huge_int, nasty_text)), "type": "private"},
                          "from": {"id": data.draw(st.one_of(huge_int, nasty_text)), "is_bot": False,
                                   "first_name": data.draw(nasty_text)},
                          "text": data.draw(st.one_of(nasty_text, json_value))}}
    return encode(update, raw_surrogates=data.draw(st.booleans()))


@FUZZ
@given(data=st.data())
def test_telegram_webhook_never_5xx(world, data):
    raw = _tg_body(data) if data.draw(st.booleans(), label="shaped") else data.draw(body_of, label="body")
    resp = world.anon.post(f"/webhooks/telegram/{world.tg}", data=raw, headers={
        "Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert_not_5xx(resp, raw[:300])


# ---- web chat ----

@FUZZ
@given(data=st.data())
def test_webchat_never_5xx(world, data):
    key = world.web.public_key
    shaped = st.fixed_dictionaries({"visitor_id": st.one_of(nasty_text, huge_int, json_value),
                                    "client_message_id": st.one_of(nasty_text, huge_int),
                                    "text": st.one_of(nasty_text, json_value)},
                                   optional={"name": nasty_text, "page_url": json_value})
    raw = data.draw(st.one_of(body_of, shaped.map(encode), shaped.map(lambda v: encode(v, raw_surrogates=True))),
                    label="body")
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded"]))
    assert_not_5xx(world.anon.post(f"/webchat/{key}/messages", data=raw, headers={"Content-Type": content_type}),
                   raw[:300])
    visitor, after = data.draw(nasty_text), data.draw(st.one_of(nasty_text, huge_int.map(str)))
    query = f"visitor_id={_q(visitor)}&after={_q(after)}"
    assert_not_5xx(world.anon.get(f"/webchat/{key}/messages?{query}"), query)


@FUZZ
@given(text=valid_text, visitor=st.from_regex(r"[A-Za-z0-9_.-]{1,40}", fullmatch=True),
       n=st.integers(0, 10**9))
def test_valid_webchat_message_still_stores_its_event(world, db, text, visitor, n):
    body = {"visitor_id": visitor, "client_message_id": f"c{n}", "text": text}
    resp = world.anon.post(f"/webchat/{world.web.public_key}/messages", json=body)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert _event(db, world.web.id, f"{visitor}:c{n}") is not None


# ---- the flow API ----

API_CALLS = ["draft", "validate", "create", "rename", "simulate", "rollback", "tests", "publish", "diff", "get",
             "raw"]


@FUZZ
@given(data=st.data())
def test_flow_api_never_5xx(world, data):
    api, fid = world.api, world.flow["id"]
    call = data.draw(st.sampled_from(API_CALLS), label="call")
    value = data.draw(json_value, label="value")
    if call in ("draft", "validate"):
        document = replace_leaf(world.flow["draft"], data, value)
        resp = api.call("PUT" if call == "draft" else "POST",
                        f"/flows/{fid}/{'draft' if call == 'draft' else 'validate'}", {"document": document})
    elif call == "create":
        resp = api.post("/flows", {"name": value, "template": data.draw(st.one_of(nasty_text, json_value))})
    elif call == "rename":
        resp = api.patch(f"/flows/{fid}", {"name": value})
    elif call == "simulate":
        body = {"messages": data.draw(st.one_of(st.lists(nasty_text, max_size=3), json_value)),
                "channel": data.draw(st.one_of(st.sampled_from(["test", "webchat"]), nasty_text)),
                "kind": data.draw(st.one_of(st.sampled_from(["dm", "comment"]), nasty_text)),
                "version": data.draw(st.one_of(st.just("draft"), huge_int, nasty_text)), "comment": value}
        resp = api.post(f"/flows/{fid}/simulate", body)
    elif call == "rollback":
        resp = api.post(f"/flows/{fid}/rollback", {"version": value})
    elif call == "tests":
        resp = api.post(f"/flows/{fid}/tests", {"name": data.draw(nasty_text), "messages": value})
    elif call == "publish":
        resp = api.post(f"/flows/{fid}/publish", {"note": value})
    elif call == "diff":
        args = "&".join(f"{k}={_q(str(data.draw(st.one_of(nasty_text, huge_int))))}" for k in ("from", "to"))
        resp = api.get(f"/flows/{fid}/diff?{args}")
    elif call == "get":
        resp = api.get(f"/flows/{data.draw(huge_int)}/versions/{data.draw(huge_int)}")
    else:
        raw = data.draw(body_of, label="raw")
        resp = api.call(data.draw(st.sampled_from(["PUT", "POST", "PATCH"])),
                        data.draw(st.sampled_from([f"/flows/{fid}/draft", f"/flows/{fid}", "/flows",
                                                   f"/flows/{fid}/simulate", f"/flows/{fid}/tests"])),
                        raw=raw)
    assert_not_5xx(resp, (call, value))


@FUZZ
@given(text=valid_text)
def test_valid_draft_still_saves(world, db, text):
    from webapp.models import Flow

    document = copy.deepcopy(world.flow["draft"])
    node = next(n for n in document["nodes"] if n["type"] == "message")
    node["data"]["text"] = text
    resp = world.api.put(f"/flows/{world.flow['id']}/draft", {"document": document})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    saved = db.session.get(Flow, world.flow["id"]).draft
    assert next(n for n in saved["nodes"] if n["id"] == node["id"])["data"]["text"] == text


# ---- back-office forms ----

FORMS = {
    "/settings/": ("niche", "offer", "prices", "address", "hours", "tone", "language", "timezone"),
    "/settings/faq": ("question", "answer"),
    "/settings/prompts": ("key", "name", "text"),
    "/settings/preview": ("message", "channel", "node_prompt"),
    "/leads/{lead}": ("status", "note"),
    "/flows/new": ("name", "template"),
    "/channels/{ig}/test-recipient": ("recipient",),
}


@FUZZ
@given(data=st.data())
def test_forms_never_5xx(world, data):
    path = data.draw(st.sampled_from(sorted(FORMS)), label="form")
    fields = {name: data.draw(nasty_text, label=name) for name in FORMS[path]}
    if data.draw(st.booleans()):
        fields[data.draw(nasty_text, label="extra field")] = data.draw(nasty_text)
    fields["csrf_token"] = world.token
    url = path.format(lead=world.lead, ig=world.ig.id)
    resp = world.client.post(f"{url}?q={_q(data.draw(nasty_text))}", data=form_body(fields),
                             content_type="application/x-www-form-urlencoded")
    assert_not_5xx(resp, fields)


profile_text = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=60)


@FUZZ
@given(niche=profile_text, offer=profile_text, address=profile_text, tone=profile_text,
       language=st.sampled_from(["en", "ru"]), timezone=st.sampled_from(["UTC", "Europe/Moscow", "Asia/Tokyo"]))
def test_valid_profile_still_saves(world, db, niche, offer, address, tone, language, timezone):
    from webapp.models import Tenant

    fields = {"niche": niche, "offer": offer, "prices": "", "address": address, "hours": "", "tone": tone,
              "language": language, "timezone": timezone, "csrf_token": world.token}
    resp = world.client.post("/settings/", data=fields)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    db.session.expire_all()
    tenant = db.session.get(Tenant, world.tenant.id)
    assert tenant.timezone == timezone and tenant.language == language
    assert [tenant.profile[k] for k in ("niche", "offer", "address", "tone")] == \
        [v.strip() for v in (niche, offer, address, tone)]
