"""LLM replies through the whole pipeline: the real openai client against the loopback fake."""

from __future__ import annotations

from tests.fakes import meta_payloads as mp
from tests.helpers.pipeline import AI_ACCOUNT, outbound
from tests.helpers.webhooks import IG_SECRET, post


def test_model_reply_is_sent_and_tokens_are_counted(client, wired, ai_shop, openai_fake, db):
    tenant, channel = ai_shop
    openai_fake.reply_text = "Our haircut costs 30 EUR. Want to book?"
    post(client, mp.ig_dm_body(AI_ACCOUNT, "U1", "mid.ai1", "how much for a haircut?"), IG_SECRET)
    wired.queue.drain()
    [reply] = outbound(db, channel.id)
    assert reply.text == "Our haircut costs 30 EUR. Want to book?" and reply.delivery_status == "sent"
    [request] = openai_fake.requests
    system = request["messages"][0]["content"]
    assert "beauty salon" in system and "Answer the customer's question briefly." in system
    from webapp.models import UsageCounter

    db.session.expire_all()
    usage = db.session.query(UsageCounter).filter_by(tenant_id=tenant.id).one()
    assert usage.llm_prompt_tokens > 0 and usage.llm_completion_tokens > 0


def test_model_failure_falls_back_to_the_faq_never_silence(client, wired, ai_shop, openai_fake, db):
    tenant, channel = ai_shop
    openai_fake.fail_always(500)
    post(client, mp.ig_dm_body(AI_ACCOUNT, "U2", "mid.ai2", "How much is a haircut?"), IG_SECRET)
    wired.queue.drain()
    [reply] = outbound(db, channel.id)
    assert reply.text == "A haircut is 30 EUR." and reply.delivery_status == "sent"


def test_without_the_llm_feature_the_bot_answers_offline(client, wired, ai_shop, openai_fake, db):
    tenant, channel = ai_shop
    tenant.plan.features = [f for f in tenant.plan.features if f != "llm"]
    db.session.commit()
    post(client, mp.ig_dm_body(AI_ACCOUNT, "U3", "mid.ai3", "how much is a haircut"), IG_SECRET)
    wired.queue.drain()
    assert openai_fake.requests == []
    [reply] = outbound(db, channel.id)
    assert reply.text == "A haircut is 30 EUR."


def test_an_llm_turn_reads_its_rows_once_per_phase(client, wired, ai_shop, openai_fake, db):
    """The model call splits a turn in two transactions; each reads what it needs in one query, and
    sending reuses the rows just written (no refresh SELECTs)."""
    from connectors.runtime.jobs import handle_inbound
    from tests.helpers.pipeline import events, statements
    channel_id = ai_shop[1].id
    openai_fake.reply_text = "Our haircut costs 30 EUR."
    post(client, mp.ig_dm_body(AI_ACCOUNT, "U9", "mid.ai9", "how much for a haircut?"), IG_SECRET)
    [event_row] = events(db)
    db.session.remove()
    with statements(db.engine) as seen:
        handle_inbound(event_row.id)
    [reply] = outbound(db, channel_id)
    assert reply.text == "Our haircut costs 30 EUR." and reply.delivery_status == "sent"
    first = [s.split()[1].split(".")[0] for s in seen if s.lstrip().upper().startswith("SELECT")]
    rows_read = [table for table in first if table not in ("flows", "flow_versions", "prompt_layers")]
    # the event; channel + tenant + contact + conversation + usage (one query); after the model, the
    # channel and conversation again (one query: reconnected token, a manager taking over). Nothing else.
    assert rows_read == ["inbound_events", "channels", "channels"]
    writes = [" ".join(s.split()[:3]) for s in seen if s.split()[0] in ("INSERT", "UPDATE")]
    assert writes.count("UPDATE conversations SET") == 1  # a new contact's conversation is inserted complete
    assert not [w for w in writes if w.startswith("UPDATE contacts")]


def test_the_model_gets_the_platform_layer_and_only_the_tenants_niche_layer(client, wired, ai_shop, openai_fake,
                                                                            db):
    """ai_shop's niche is "beauty salon": the shipped beauty layer reaches the model, the other niches'
    layers do not (the same layers the prompt preview shows)."""
    from webapp.services.prompts import DEFAULT_LAYERS, ensure_default_layers, layer_dicts

    ensure_default_layers()
    post(client, mp.ig_dm_body(AI_ACCOUNT, "U8", "mid.ai8", "how much for a haircut?"), IG_SECRET)
    wired.queue.drain()
    [request] = openai_fake.requests
    system = request["messages"][0]["content"]
    texts = {spec["key"]: spec["text"] for spec in DEFAULT_LAYERS}
    assert texts["base"] in system and texts["beauty"] in system
    assert texts["real_estate"] not in system and texts["retail"] not in system and texts["services"] not in system
    assert [d["key"] for d in layer_dicts(ai_shop[0])] == ["base", "beauty"]


def test_a_channel_reconnected_while_the_model_thinks_replies_with_the_new_token(app, client, wired, ai_shop,
                                                                                 openai_fake, db):
    import threading
    import time

    from connectors.runtime.jobs import handle_inbound
    from tests.helpers.pipeline import events
    from webapp.models import Channel

    channel_id = ai_shop[1].id
    openai_fake.delay = 1.0
    post(client, mp.ig_dm_body(AI_ACCOUNT, "U7", "mid.ai7", "how much for a haircut?"), IG_SECRET)
    [event_row] = events(db)

    def turn() -> None:
        with app.app_context():
            handle_inbound(event_row.id)

    worker = threading.Thread(target=turn)
    worker.start()
    deadline = time.monotonic() + 10
    while not openai_fake.requests and time.monotonic() < deadline:  # the model is thinking now
        time.sleep(0.02)
    channel = db.session.get(Channel, channel_id)
    channel.credentials = {**channel.credentials, "token": "tok-reconnected"}
    db.session.commit()
    worker.join(15)
    [sent] = wired.graph.messages
    assert sent.header("Authorization") == "Bearer tok-reconnected"
    db.session.expire_all()
    assert db.session.get(Channel, channel_id).status != "needs_reconnect"


def test_each_message_moves_the_conversations_last_inbound_time(client, wired, ai_shop, openai_fake, db,
                                                                 monkeypatch):
    """Stored with the person's message, whatever becomes of the turn (a model turn, a paused bot, a turn
    that dies in the step): the reply windows of WhatsApp and Instagram start from it."""
    from datetime import timedelta

    import connectors.pipeline.turns as turns
    from connectors.runtime.jobs import handle_inbound
    from tests.helpers.pipeline import events
    from webapp.models import Conversation
    from webapp.models.base import utcnow

    def message(mid: str):
        post(client, mp.ig_dm_body(AI_ACCOUNT, "U-window", mid, "how much for a haircut?"), IG_SECRET)
        [row] = [e for e in events(db) if e.external_id == mid]
        handle_inbound(row.id)
        db.session.expire_all()
        return db.session.query(Conversation).one()

    conv = message("mid.w1")
    long_ago = utcnow() - timedelta(days=3)
    conv.last_inbound_at = long_ago
    db.session.commit()
    conv = message("mid.w2")  # a slow (model) turn
    assert conv.last_inbound_at > long_ago + timedelta(days=2)
    conv.last_inbound_at, conv.bot_paused = long_ago, True
    db.session.commit()
    conv = message("mid.w3")  # no turn: the bot is paused
    assert conv.last_inbound_at > long_ago + timedelta(days=2)
    assert len(outbound(db, ai_shop[1].id)) == 2
    conv.last_inbound_at, conv.bot_paused = long_ago, False
    db.session.commit()

    def dies(prepared):  # e.g. the job's timeout hits while the model thinks
        raise RuntimeError("Task exceeded maximum timeout value")

    monkeypatch.setattr(turns, "execute_turn", dies)
    conv = message("mid.w4")
    assert conv.last_inbound_at > long_ago + timedelta(days=2)
    assert [e.status for e in events(db) if e.external_id == "mid.w4"] == ["failed"]
