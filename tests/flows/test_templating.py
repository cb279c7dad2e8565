from flows.nodes.base import Runtime
from flows.templating import Missing, placeholders, render, render_json, to_text
from tests.flows.helpers import event, services


def runtime(variables=None, contact=None, profile=None):
    svc = services(profile=profile or {})
    ev = event("hello there")
    ev.contact = contact or {}
    return Runtime(svc, ev, variables or {}, {}, [], 1)


def test_renders_conversation_contact_and_profile_values():
    rt = runtime({"name": "Anna"}, {"username": "anna_k"}, {"offer": "20% off", "prices": {"cut": 30}})
    out = rt.render("Hi {{name}} (@{{ username }}): {{profile.offer}}, cut {{profile.prices.cut}} on {{channel}}")
    assert out == "Hi Anna (@anna_k): 20% off, cut 30 on test"
    assert rt.warnings == []


def test_conversation_variable_shadows_contact_field():
    rt = runtime({"name": "Typed"}, {"name": "Profile name"})
    assert rt.render("{{name}} / {{contact.name}}") == "Typed / Profile name"


def test_missing_variable_renders_empty_with_warning():
    rt = runtime()
    assert rt.render("Hi {{nobody}}!") == "Hi !"
    assert rt.warnings == ["variable 'nobody' is not set; rendered empty"]


def test_value_containing_template_syntax_is_not_expanded_again():
    rt = runtime({"name": "{{secret}}", "secret": "leaked"})
    assert rt.render("Hello {{name}}") == "Hello {{secret}}"


def test_last_message_and_lists_render_as_text():
    rt = runtime({"tags": ["a", "b"], "vip": True})
    assert rt.render("{{last_message}} | {{tags}} | {{vip}}") == "hello there | a, b | yes"


def test_render_json_renders_nested_strings_only():
    lookup = {"phone": "+1"}.get
    body = {"a": "{{phone}}", "b": [1, "x{{phone}}"], "c": None}
    assert render_json(body, lambda p: lookup(p, Missing)) == {"a": "+1", "b": [1, "x+1"], "c": None}


def test_placeholders_and_helpers():
    assert placeholders("{{a}} {{ b.c }} {{a}}") == ["a", "b.c", "a"]
    assert placeholders("no braces") == []
    missing: list[str] = []
    assert render("{{x}}", lambda p: Missing, missing) == "" and missing == ["x"]
    assert to_text(None) == "" and to_text(3.5) == "3.5"
