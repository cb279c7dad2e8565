"""llm and faq nodes."""

from flows.services import FakeLLM, LLMResult
from tests.flows.helpers import doc, services, talk, texts

FAQ = [
    {"q": "What are your opening hours?", "a": "We are open 9:00-20:00 every day."},
    {"q": "Where are you located?", "a": "Main street 5."},
]


def llm_flow(**data):
    return doc(
        [
            ("start", "trigger", {}),
            ("ai", "llm", {"prompt": "Be brief about {{profile.offer}}.", **data}),
            ("ok", "message", {"text": "[ok] {{phone}}"}),
            ("fb", "message", {"text": "[fallback]"}),
        ],
        [("start", "out", "ai"), ("ai", "ok", "ok"), ("ai", "fallback", "fb")],
    )


def test_llm_replies_records_prompt_and_usage():
    llm = FakeLLM()
    svc = services(llm=llm, profile={"offer": "Haircuts", "faq": FAQ})
    svc.context.prompt_layers = [{"kind": "tone", "text": "Friendly and short."}]
    [result] = talk(llm_flow(), ["when are you open?"], svc)
    assert texts(result)[0] == "[fake reply] You said: when are you open?"
    assert result.trace[1]["port"] == "ok"
    prompt = result.trace[1]["prompt"]
    assert prompt == llm.calls[0]["messages"]
    assert prompt[-1] == {"role": "user", "content": "when are you open?"}
    assert "Be brief about Haircuts." in prompt[0]["content"] and "Friendly and short." in prompt[0]["content"]
    [usage] = result.effects
    assert usage.type == "llm_usage" and usage.payload["prompt_tokens"] > 0 and usage.payload["model"] == "fake-llm"


def test_llm_history_from_earlier_turns_is_sent():
    flow = doc(
        [("start", "trigger", {}), ("ai", "llm", {}), ("wait", "ask", {"variable": "q"})],
        [("start", "out", "ai"), ("ai", "ok", "wait"), ("wait", "ok", "ai")],
    )
    llm = FakeLLM()
    talk(flow, ["first", "second"], services(llm=llm))
    roles = [(m["role"], m["content"]) for m in llm.calls[1]["messages"][1:]]
    assert roles == [("user", "first"), ("assistant", "[fake reply] You said: first"), ("user", "second")]


def test_llm_extracts_and_validates_fields():
    llm = FakeLLM(data={"phone": "+1 202 555 0143", "email": "not-an-email"})
    flow = llm_flow(extract=[{"variable": "phone", "validate": "phone"}, {"variable": "email", "validate": "email"}])
    [result] = talk(flow, ["call me"], services(llm=llm))
    schema = llm.calls[0]["response_schema"]
    assert set(schema["properties"]) == {"reply", "phone", "email"}
    assert result.state["vars"] == {"phone": "+12025550143"}
    assert texts(result)[-1] == "[ok] +12025550143"
    assert any("not a valid email" in w for w in result.trace[1]["warnings"])


def test_llm_offline_falls_back_to_faq_then_tenant_text_then_system_text():
    [faq_hit] = talk(llm_flow(), ["what are your opening hours"], services(profile={"faq": FAQ}))
    assert texts(faq_hit) == ["We are open 9:00-20:00 every day.", "[fallback]"]
    assert faq_hit.trace[1]["port"] == "fallback" and "offline" in faq_hit.trace[1]["warnings"][0]
    svc = services()
    svc.context.fallback_text = "We'll text you back, {{username}}."
    assert texts(talk(llm_flow(), ["hmm"], svc)[0])[0] == "We'll text you back, ann_k."
    assert texts(talk(llm_flow(), ["hmm"], services(language="ru"))[0])[0].startswith("Спасибо")


def test_llm_with_fallback_reply_off_leaves_the_next_step_to_the_flow():
    [offline] = talk(llm_flow(fallback_reply=False), ["what are your opening hours"], services(profile={"faq": FAQ}))
    assert texts(offline) == ["[fallback]"] and "fallback_reply off" in offline.trace[1]["warnings"][0]
    [online] = talk(llm_flow(fallback_reply=False), ["hi"], services(llm=FakeLLM()))
    assert texts(online) == ["[fake reply] You said: hi", "[ok] "]


def test_llm_error_falls_back_and_still_reports_usage():
    class Broken:
        def complete(self, messages, *, max_tokens, response_schema=None):
            return LLMResult(error="timeout", prompt_tokens=12, model="m")

    [result] = talk(llm_flow(), ["hi"], services(llm=Broken()))
    assert result.trace[1]["port"] == "fallback"
    assert any("LLM error: timeout" in w for w in result.trace[1]["warnings"])
    assert [e.type for e in result.effects] == ["llm_usage"] and result.effects[0].payload["prompt_tokens"] == 12
    assert "prompt" in result.trace[1]


def test_llm_reply_fitted_to_channel():
    class Markdown:
        def complete(self, messages, *, max_tokens, response_schema=None):
            return LLMResult(text="**Bold** " + "word " * 400)

    [result] = talk(llm_flow(), ["hi"], services(llm=Markdown()), channel="instagram")
    reply = texts(result)[0]
    assert reply.startswith("Bold word") and len(reply) <= 1000


def faq_flow(**data):
    return doc(
        [
            ("start", "trigger", {}),
            ("faq", "faq", data),
            ("no", "message", {"text": "no match"}),
            ("yes", "message", {"text": "saved: {{answer}}"}),
        ],
        [("start", "out", "faq"), ("faq", "no_match", "no"), ("faq", "answered", "yes")],
    )


def test_faq_answers_and_saves_variable():
    [result] = talk(faq_flow(variable="answer"), ["where are you located?"], services(profile={"faq": FAQ}))
    assert texts(result) == ["Main street 5.", "saved: Main street 5."]
    assert result.trace[1]["port"] == "answered"


def test_faq_no_match_and_explicit_query_and_silent_mode():
    svc = services()
    svc.faq = FAQ
    assert texts(talk(faq_flow(), ["do you sell bikes"], svc)[0]) == ["no match"]
    [fixed] = talk(faq_flow(query="opening hours", reply=False, variable="answer"), ["blah"], svc)
    assert texts(fixed) == ["saved: We are open 9:00-20:00 every day."]
