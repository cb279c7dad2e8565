import json

import pytest

from connectors.channels.meta import (
    PayloadError,
    parse_meta_payload,
    verify_handshake,
    verify_request,
    verify_signature,
)
from tests.fakes.meta_payloads import (
    encode,
    ig_dm,
    ig_dm_entry,
    instagram_payload,
    sign,
    signed_headers,
    wa_text_body,
)

SECRET = "app-secret-123"


def body() -> bytes:
    return encode(instagram_payload(ig_dm_entry("1784", [ig_dm("IGSID", "mid.1", "Привет, äöå 👋")])))


def test_body_is_sent_escaped_like_meta():
    raw = body()
    assert b"\\u041f" in raw and raw.isascii()


def test_good_signature_passes():
    raw = body()
    assert verify_signature(raw, sign(raw, SECRET), SECRET)


def test_forged_signature_fails():
    raw = body()
    assert not verify_signature(raw, sign(raw, "another-secret"), SECRET)
    assert not verify_signature(raw + b" ", sign(raw, SECRET), SECRET)


@pytest.mark.parametrize("value", [None, "", "sha256=", "sha1=" + "0" * 40, "deadbeef" * 8, "sha256=xyz"])
def test_absent_or_malformed_signature_fails(value):
    assert not verify_signature(body(), value, SECRET)


def test_empty_secret_never_verifies():
    raw = body()
    assert not verify_signature(raw, sign(raw, ""), "")


def test_reserialised_body_does_not_match_the_original_signature():
    raw = body()
    signature = sign(raw, SECRET)
    reserialised = json.dumps(json.loads(raw)).encode()
    assert reserialised != raw
    assert not verify_signature(reserialised, signature, SECRET)
    # and the UTF-8 form a framework might produce fails too
    utf8 = json.dumps(json.loads(raw), ensure_ascii=False, separators=(",", ":")).encode()
    assert not verify_signature(utf8, signature, SECRET)


def test_verify_request_reads_header_case_insensitively_and_tries_each_secret():
    raw = wa_text_body("PNID", "wamid.1", "hi")
    headers = {"x-hub-signature-256": sign(raw, "meta-secret")}
    assert verify_request(headers, raw, ["", "ig-secret", "meta-secret"])
    assert not verify_request(headers, raw, ["ig-secret", None])
    assert not verify_request({}, raw, ["meta-secret"])
    assert verify_request(signed_headers(raw, "ig-secret"), raw, ["ig-secret"])


def test_handshake():
    args = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert verify_handshake(args, "tok") == "1158201444"
    assert verify_handshake({**args, "hub.verify_token": "nope"}, "tok") is None
    assert verify_handshake({**args, "hub.mode": "unsubscribe"}, "tok") is None
    assert verify_handshake({**args, "hub.verify_token": ""}, "") is None
    assert verify_handshake({k: v for k, v in args.items() if k != "hub.challenge"}, "tok") is None


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"entry": []}', b'{"object": "instagram", "entry": {}}',
                                 b'{"object": "instagram", "entry": [1]}', b"\xff\xfe"])
def test_malformed_payload_raises_payload_error(raw):
    with pytest.raises(PayloadError):
        parse_meta_payload(raw)


def test_dispatch_by_object_and_unknown_objects_are_ignored():
    assert [e.channel_type for e in parse_meta_payload(body())] == ["instagram"]
    assert [e.channel_type for e in parse_meta_payload(wa_text_body("PNID", "wamid.1", "hi"))] == ["whatsapp"]
    assert parse_meta_payload(b'{"object": "page", "entry": [{"id": "1", "messaging": []}]}') == []
