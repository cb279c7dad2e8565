"""Every shipped template validates cleanly and walks end to end in the simulator."""

import pytest

from flows import validate
from flows.graph import reachable
from flows.services import FakeLLM, offline_services
from flows.simulator import simulate
from flows.templates import list_templates, load_template

PROFILE = {
    "offer": "20% off the first visit",
    "prices": "from $30",
    "address": "Main street 5",
    "hours": "9:00-20:00",
    "faq": [{"q": "What are your opening hours?", "a": "Every day 9:00-20:00."}],
}
BAD_PHONE_REASK = "valid phone number"


def svc(**kw):
    return offline_services(profile=PROFILE, llm=FakeLLM(), **kw)


def replies(turn):
    return [r["text"] for r in turn["replies"]]


def effect_types(result):
    return [e["type"] for e in result["effects"]]


def test_list_templates_has_required_keys_and_summaries():
    listed = {t["key"]: t for t in list_templates()}
    assert set(listed) >= {
        "lead_capture",
        "instagram_comment_to_dm",
        "faq_bot",
        "booking_request",
        "beauty_salon_booking",
        "online_store_lead",
        "real_estate_enquiry",
    }
    assert all(t["kind"] == "scenario" and t["name"] and t["description"] and t["niche"] for t in listed.values())
    with pytest.raises(KeyError):
        load_template("nope")


@pytest.mark.parametrize("key", [t["key"] for t in list_templates()])
def test_template_validates_without_problems_and_is_laid_out_left_to_right(key):
    document = load_template(key)
    assert validate(document) == []
    xs = {n["id"]: n["position"]["x"] for n in document["nodes"]}
    successors: dict[str, list[str]] = {}
    for e in document["edges"]:
        successors.setdefault(e["source"], []).append(e["target"])
    for e in document["edges"]:
        is_loop = e["source"] in reachable([e["target"]], successors)
        assert is_loop or xs[e["source"]] < xs[e["target"]], e
    load_template(key)["nodes"].clear()
    assert load_template(key) == document  # callers get copies


def test_lead_capture_walkthrough_with_wrong_phone():
    result = simulate(
        load_template("lead_capture"),
        channel="telegram",
        kind="message",
        services=svc(),
        messages=["hi", "Anna", "12345", "+1 202 555 0143", "yes"],
    )
    turns = result["turns"]
    assert replies(turns[1]) == ["What's the best phone number to reach you?"]
    assert BAD_PHONE_REASK in replies(turns[2])[0]
    assert replies(turns[3]) == ["Anna, we'll call you at +12025550143. Is that right?"]
    assert replies(turns[4]) == ["Thank you, Anna! We'll call you soon."]
    assert effect_types(result) == ["lead", "notify"]
    assert result["effects"][0]["payload"]["fields"] == {"name": "Anna", "phone": "+12025550143"}
    assert result["state"]["finished"]


def test_lead_capture_no_confirmation_asks_again():
    result = simulate(
        load_template("lead_capture"),
        services=svc(),
        messages=["hi", "Anna", "+1 202 555 0143", "No", "Ann", "+1 202 555 0144", "Yes"],
    )
    assert replies(result["turns"][3]) == ["No problem, let's try again.", "What's your name?"]
    assert result["effects"][0]["payload"]["fields"] == {"name": "Ann", "phone": "+12025550144"}


def test_instagram_comment_to_dm_walkthrough_with_wrong_phone():
    result = simulate(
        load_template("instagram_comment_to_dm"),
        channel="instagram",
        kind="comment",
        comment={"text": "Price please!", "post_id": "p1"},
        services=svc(channel="instagram"),
        messages=["yes", "my phone is secret", "+7 912 345 67 89"],
    )
    first = result["turns"][0]
    assert [r["kind"] for r in first["replies"]] == ["comment_reply", "private_reply"]
    assert replies(result["turns"][1])[0] == "Here's our offer: 20% off the first visit\nPrices: from $30"
    assert BAD_PHONE_REASK in replies(result["turns"][2])[0]
    assert effect_types(result) == ["lead", "notify"]
    assert result["variables"]["phone"] == "+79123456789"


def test_faq_bot_walkthrough_faq_llm_and_handoff_with_wrong_phone():
    result = simulate(
        load_template("faq_bot"),
        services=svc(),
        messages=["what are your opening hours?", "do you do weddings?", "I want a human", "no", "+1 202 555 0143"],
    )
    t1, t2, t3, t4, t5 = result["turns"]
    assert replies(t1) == ["Every day 9:00-20:00."]
    assert replies(t2) == ["[fake reply] You said: do you do weddings?"]
    assert any("prompt" in step for step in t2["trace"])
    assert "Leave your phone number" in replies(t3)[0]
    assert BAD_PHONE_REASK in replies(t4)[0]
    assert "manager" in replies(t5)[0]
    assert effect_types(result) == ["llm_usage", "lead", "handoff"] and result["state"]["paused"]
    assert result["effects"][1]["payload"]["fields"] == {"phone": "+12025550143", "question": "I want a human"}


def test_faq_bot_offline_falls_back_to_system_text():
    result = simulate(load_template("faq_bot"), services=offline_services(), messages=["do you do weddings?"])
    assert replies(result["turns"][0]) == ["Thanks for your message! A manager will reply soon."]


def test_booking_request_walkthrough_with_wrong_phone():
    result = simulate(
        load_template("booking_request"),
        services=svc(),
        messages=["hello", "Premium", "Friday 15:00", "0000", "+44 20 7946 0958"],
    )
    assert BAD_PHONE_REASK in replies(result["turns"][3])[0]
    assert replies(result["turns"][4]) == ["Thanks! We'll confirm your Premium booking for Friday 15:00 shortly."]
    assert result["effects"][0]["payload"]["fields"] == {
        "service": "Premium",
        "when": "Friday 15:00",
        "phone": "+442079460958",
    }


def test_beauty_salon_walkthrough_with_wrong_phone():
    result = simulate(
        load_template("beauty_salon_booking"),
        services=svc(),
        messages=["hi", "manicure", "tomorrow 11am", "Olga", "abc", "+7 912 345 67 89"],
    )
    assert replies(result["turns"][0])[0].startswith("Hi! 💅 Welcome")  # the fixed clock is at 12:00
    assert BAD_PHONE_REASK in replies(result["turns"][4])[0]
    assert "Main street 5" in replies(result["turns"][5])[0]
    assert effect_types(result) == ["lead", "notify"]


def test_online_store_order_and_delivery_paths():
    order = simulate(
        load_template("online_store_lead"),
        services=svc(),
        messages=["hi", "1", "Red sneakers", "12", "+1 202 555 0143", "bad@", "ann@example.com"],
    )
    assert BAD_PHONE_REASK in replies(order["turns"][3])[0]
    assert order["effects"][0]["payload"]["fields"] == {
        "product": "Red sneakers",
        "phone": "+12025550143",
        "email": "ann@example.com",
    }
    question = simulate(load_template("online_store_lead"), services=svc(), messages=["hi", "3", "Do you ship?"])
    assert replies(question["turns"][2])[0] == "[fake reply] You said: Do you ship?"
    assert replies(question["turns"][2])[-1] == "Choose an option:"  # goto back to the menu


def test_real_estate_walkthrough_with_wrong_phone_and_follow_up_timeout():
    result = simulate(
        load_template("real_estate_enquiry"),
        services=svc(),
        messages=["hi", "rent", "Lisbon", "2000", "João", "999", "+351 21 234 5678", "[timeout]"],
    )
    assert BAD_PHONE_REASK in replies(result["turns"][5])[0]
    lead = result["effects"][0]["payload"]["fields"]
    assert lead["priority"] == "normal" and lead["budget"] == 2000 and lead["phone"] == "+351212345678"
    assert result["turns"][-1]["kind"] == "timeout" and result["state"]["finished"]
    assert effect_types(result) == ["lead", "notify", "schedule_follow_up"]
