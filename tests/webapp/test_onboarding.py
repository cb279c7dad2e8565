"""The onboarding checklist on the dashboard home follows the tenant's real state, and only the tenant's."""

from __future__ import annotations

from typing import Any

from tests.helpers.web import csrf_token, login

STEPS = ["plan", "profile", "channels", "webhooks", "template", "test", "live"]


def _ticks(tenant: Any, app: Any) -> dict[str, bool]:
    from webapp.services.onboarding import checklist

    with app.test_request_context("/"):
        return {step.key: step.done for step in checklist(tenant)}


def _open(ticks: dict[str, bool]) -> set[str]:
    return {key for key, done in ticks.items() if not done}


def _conversation(db: Any, tenant: Any, channel: Any, user: str) -> Any:
    from webapp.models import Contact, Conversation

    contact = Contact(tenant_id=tenant.id, channel_id=channel.id, external_user_id=user)
    db.session.add(contact)
    db.session.flush()
    conv = Conversation(tenant_id=tenant.id, contact_id=contact.id, channel_id=channel.id)
    db.session.add(conv)
    db.session.flush()
    return conv


def _reply(db: Any, tenant: Any, channel: Any, conv: Any, status: str) -> None:
    from webapp.models import Message

    db.session.add(Message(tenant_id=tenant.id, conversation_id=conv.id, channel_id=channel.id, direction="out",
                           text="Hello!", delivery_status=status))
    db.session.commit()


def test_new_tenant_sees_every_step_open_but_the_plan(member_client, tenant, app):
    ticks = _ticks(tenant, app)
    assert list(ticks) == STEPS
    assert _open(ticks) == set(STEPS) - {"plan"}  # a tenant always has a plan (sign-up assigns one)
    page = member_client.get("/").get_data(as_text=True)
    assert 'data-testid="onboarding"' in page and 'data-testid="onboarding-live"' not in page
    for key in STEPS:
        assert f'data-testid="step-{key}"' in page
    assert 'data-testid="step-profile" data-done="no"' in page
    assert "/settings/" in page and "/channels" in page
    assert "Send test" in page and "Simulate comment" in page and "Check replies" in page
    assert 'data-testid="notes-' not in page  # no channel yet: no Meta steps to do by hand


def test_profile_ticks_once_niche_and_a_fact_are_saved(member_client, tenant, app, db):
    token = csrf_token(member_client, "/settings/")
    form = {"csrf_token": token, "niche": "beauty", "language": "en", "timezone": "UTC"}
    assert member_client.post("/settings/", data=form).status_code == 302
    db.session.refresh(tenant)
    assert not _ticks(tenant, app)["profile"]  # a niche alone is not enough for the bot to answer
    assert member_client.post("/settings/", data={**form, "hours": "10-20"}).status_code == 302
    db.session.refresh(tenant)
    assert _ticks(tenant, app)["profile"]
    assert 'data-testid="step-profile" data-done="yes"' in member_client.get("/").get_data(as_text=True)


def test_channel_and_webhook_ticks_follow_channels_and_events(member_client, tenant, app, db):
    from webapp.models import InboundEvent
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "instagram", external_id="17841400000000001", token="t")
    ticks = _ticks(tenant, app)
    assert ticks["channels"] and not ticks["webhooks"]
    page = member_client.get("/").get_data(as_text=True)
    assert 'data-testid="notes-channels"' in page and "Allow access to messages" in page
    assert 'data-testid="notes-webhooks"' in page and "App Review" in page
    assert "WhatsApp: register" not in page  # only the notes of the channels the tenant has

    db.session.add(InboundEvent(tenant_id=tenant.id, channel_id=channel.id, external_id="m:1", kind="message",
                                user_id="IGSID-1", parsed={}))
    db.session.commit()
    assert _ticks(tenant, app)["webhooks"]

    broken = add_channel(tenant, "whatsapp", external_id="1065550001", token="t")
    assert not _ticks(tenant, app)["webhooks"]  # every connected channel must have been heard from
    broken.status = "needs_reconnect"
    db.session.commit()
    assert _ticks(tenant, app)["webhooks"]  # only active channels count
    assert "WhatsApp: register" in member_client.get("/").get_data(as_text=True)


def test_web_chat_needs_no_webhook(tenant, app):
    from webapp.services.channels import add_channel

    add_channel(tenant, "webchat")
    ticks = _ticks(tenant, app)
    assert ticks["channels"] and ticks["webhooks"]


def test_template_and_test_ticks(tenant, app, db):
    from webapp.models import TestConversation
    from webapp.services.flows import create_flow, publish, template_document

    flow = create_flow(tenant, "Leads", template_document("lead_capture"))
    db.session.commit()
    assert not _ticks(tenant, app)["template"]  # a draft is not a bot yet
    publish(flow)
    db.session.commit()
    assert _ticks(tenant, app)["template"]
    assert not _ticks(tenant, app)["test"]
    db.session.add(TestConversation(tenant_id=tenant.id, flow_id=flow.id, name="Case 1", messages=["hi"]))
    db.session.commit()
    assert _ticks(tenant, app)["test"]


def test_a_conversation_with_the_own_test_account_counts_as_a_test(tenant, app, db):
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "instagram", external_id="17841400000000002", token="t",
                          settings={"test_recipient": "ME-1"})
    conv = _conversation(db, tenant, channel, "ME-1")
    _reply(db, tenant, channel, conv, "delivered")
    ticks = _ticks(tenant, app)
    assert ticks["test"] and not ticks["live"]  # a reply to the owner's own account is not a customer


def test_go_live_needs_a_delivered_reply_to_a_customer(tenant, app, db):
    from webapp.services.channels import add_channel

    channel = add_channel(tenant, "instagram", external_id="17841400000000003", token="t",
                          settings={"test_recipient": "ME-1"})
    conv = _conversation(db, tenant, channel, "CUSTOMER-1")
    _reply(db, tenant, channel, conv, "failed")
    assert not _ticks(tenant, app)["live"]
    _reply(db, tenant, channel, conv, "delivered")
    assert _ticks(tenant, app)["live"]


def test_everything_done_collapses_to_you_are_live(member_client, tenant, app, db):
    from webapp.models import InboundEvent
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow, publish, template_document

    tenant.profile = {"niche": "beauty", "address": "Main st. 1"}
    channel = add_channel(tenant, "instagram", external_id="17841400000000004", token="t",
                          settings={"test_recipient": "ME-1"})
    publish(create_flow(tenant, "Leads", template_document("lead_capture")))
    db.session.add(InboundEvent(tenant_id=tenant.id, channel_id=channel.id, external_id="m:1", kind="message",
                                user_id="CUSTOMER-1", parsed={}))
    _conversation(db, tenant, channel, "ME-1")
    _reply(db, tenant, channel, _conversation(db, tenant, channel, "CUSTOMER-1"), "sent")
    assert not _open(_ticks(tenant, app))
    page = member_client.get("/").get_data(as_text=True)
    assert 'data-testid="onboarding-live"' in page and 'data-testid="onboarding"' not in page
    assert "/?checklist=1" in page
    again = member_client.get("/?checklist=1").get_data(as_text=True)
    assert 'data-testid="onboarding"' in again and 'data-done="no"' not in again


def test_one_tenants_state_never_ticks_anothers(client, make_tenant, app, db):
    from webapp.models import InboundEvent, TestConversation
    from webapp.services.channels import add_channel
    from webapp.services.flows import create_flow, publish, template_document

    busy, fresh = make_tenant("Busy Bar"), make_tenant("Fresh Bar")
    busy.profile = {"niche": "bar", "hours": "18-02"}
    channel = add_channel(busy, "instagram", external_id="17841400000000005", token="t")
    flow = create_flow(busy, "Leads", template_document("lead_capture"))
    publish(flow)
    db.session.add(InboundEvent(tenant_id=busy.id, channel_id=channel.id, external_id="m:1", kind="message",
                                user_id="C", parsed={}))
    db.session.add(TestConversation(tenant_id=busy.id, flow_id=flow.id, name="Case", messages=["hi"]))
    _reply(db, busy, channel, _conversation(db, busy, channel, "C"), "delivered")
    assert not _open(_ticks(busy, app))
    assert _open(_ticks(fresh, app)) == set(STEPS) - {"plan"}
    assert login(client, fresh.owner_email, fresh.owner_password).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="onboarding"' in page and 'data-testid="step-channels" data-done="no"' in page
    assert "Allow access to messages" not in page  # the other tenant's Instagram brings no notes here


def test_russian_page_shows_russian_texts(client, make_tenant):
    ru = make_tenant("Салон", language="ru")
    assert login(client, ru.owner_email, ru.owner_password).status_code == 302
    client.post("/language", data={"language": "ru", "csrf_token": csrf_token(client)})
    page = client.get("/").get_data(as_text=True)
    assert "Первые шаги" in page and "Подключите каналы" in page
    assert "Getting started" not in page and "Connect channels" not in page
