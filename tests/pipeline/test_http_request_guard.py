"""`http_request` nodes never reach internal addresses (by resolved address, every redirect hop, no DNS
rebinding), read at most 1 MB and give up at the node's timeout, over real HTTP against a loopback fake."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.providers.integration_http import MAX_BODY, RequestsHttp, address_problem
from tests.fakes import meta_payloads as mp
from tests.fakes.integration_api import FakeIntegrationAPI
from tests.helpers.pipeline import IG_ACCOUNT, publish_templates
from tests.helpers.webhooks import IG_SECRET, post


@pytest.fixture()
def api() -> Iterator[FakeIntegrationAPI]:
    with FakeIntegrationAPI() as fake:
        yield fake


def call(url: str, allow: Any = False, **kw: Any) -> Any:
    return RequestsHttp(allow_private=allow).request(kw.pop("method", "GET"), url, **{"headers": {}, **kw})


INTERNAL = [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "10.255.255.254", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "169.254.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1", "255.255.255.255",
    "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "64:ff9b::7f00:1", "2002:7f00:1::1", "ff02::1",
]


@pytest.mark.parametrize("address", INTERNAL)
def test_every_internal_address_class_is_refused_before_connecting(address, api):
    ip = ipaddress.ip_address(address)
    assert address_problem(ip), address
    host = f"[{address}]" if ip.version == 6 else address
    result = call(f"http://{host}:{api.port}/json")
    assert result.status == 0 and result.error.startswith(f"refused: {ip} is ") and "public" in result.error
    assert api.requests == []


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass_the_check(address):
    assert address_problem(ipaddress.ip_address(address)) is None


def test_names_are_refused_by_the_addresses_they_resolve_to(api):
    for host in ("localhost", "LocalHost", "127.1", "2130706433", "0x7f000001"):  # all 127.0.0.1
        result = call(f"http://{host}:{api.port}/json")
        assert result.status == 0 and "resolves to" in result.error and "loopback" in result.error, host
    assert api.requests == []


def test_allowed_loopback_works_and_keeps_host_json_and_status(api):
    result = call(f"{api.url}/json", allow=True, method="POST", json={"order": 7})
    assert result.status == 200 and result.error is None
    assert result.body == {"ok": True, "method": "POST", "json": {"order": 7}, "host": f"127.0.0.1:{api.port}"}
    assert api.requests[0].header("Content-Type") == "application/json"


def test_redirect_chain_is_followed_within_the_limit(api):
    assert call(f"{api.url}/chain?left=5", allow=True).body["ok"] is True
    assert api.paths().count("/chain") == 6
    too_many = call(f"{api.url}/chain?left=6", allow=True)
    assert too_many.status == 0 and "more than 5 redirects" in too_many.error


def test_a_redirect_to_a_refused_address_is_not_followed():
    """Only 127.0.0.2 is allowed: its redirect to 127.0.0.1 (and to the metadata address) is refused."""
    with FakeIntegrationAPI("127.0.0.2") as allowed, FakeIntegrationAPI() as internal:
        networks = [ipaddress.ip_network("127.0.0.2/32")]
        start = f"http://127.0.0.2:{allowed.port}"
        assert call(f"{start}/json", allow=networks).status == 200
        for target in (f"{internal.url}/json", f"http://localhost:{internal.port}/json",
                       "http://169.254.169.254/latest/meta-data/"):
            result = call(f"{start}/redirect?to={target}", allow=networks, method="POST", json={"a": 1})
            assert result.status == 0 and result.error.startswith("refused:"), target
        assert internal.requests == []


def test_dns_is_asked_once_per_hop_and_the_checked_address_is_called(api, monkeypatch):
    """DNS rebinding: the name's second answer (an address we would refuse) is never used; the request
    goes to the address that was checked, with the name in its Host header."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "integration.example":
            asked.append(host)
            host = "127.0.0.2" if len(asked) == 1 else "10.0.0.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with FakeIntegrationAPI("127.0.0.2") as allowed:
        result = call(f"http://integration.example:{allowed.port}/chain?left=1",
                      allow=[ipaddress.ip_network("127.0.0.2/32")])
        assert result.status == 0 and "resolves to 10.0.0.1" in result.error  # the second hop's answer
        assert asked == ["integration.example", "integration.example"]
        assert allowed.requests[0].header("Host") == f"integration.example:{allowed.port}"
        assert len(allowed.requests) == 1


def test_credentials_follow_a_redirect_only_on_the_same_origin(api):
    with FakeIntegrationAPI("127.0.0.2") as other:
        headers = {"Authorization": "Bearer s3cret", "X-Shop": "7", "host": "evil.example"}
        hop = call(f"{api.url}/redirect?to=/chain?left=0", allow=True, headers=headers)
        away = call(f"{api.url}/redirect?to=http://127.0.0.2:{other.port}/json", allow=True, headers=headers)
        assert hop.status == 200 and away.status == 200
        assert [r.header("Authorization") for r in api.requests] == ["Bearer s3cret"] * 3
        assert other.requests[0].header("Authorization") is None and other.requests[0].header("X-Shop") == "7"
        assert api.requests[0].header("Host") == f"127.0.0.1:{api.port}"
    bad = call(f"{api.url}/json", allow=True, headers={"X-Id": "1\r\nX-Injected: 1"})
    assert bad.status == 0 and bad.error.startswith("bad request:") and len(api.requests) == 3


@pytest.mark.parametrize("query", ["bytes={n}", "bytes={n}&length=0", "bytes={n}&gzip=1", "bytes={n}&gzip=1&length=0"])
def test_bodies_over_the_cap_are_not_read(api, query):
    result = call(f"{api.url}/big?{query.format(n=MAX_BODY + 1)}", allow=True)
    assert result.error == "the response is larger than 1024 KB" and result.body is None
    fits = call(f"{api.url}/big?{query.format(n=MAX_BODY)}", allow=True)
    assert fits.error is None and fits.body == "x" * 10_000  # text bodies are kept up to 10,000 characters


@pytest.mark.parametrize("path", ["/drip?bytes=200&every=0.05", "/drip-headers?every=0.05"])
def test_a_slow_drip_ends_at_the_nodes_timeout(api, path):
    """Every byte comes well within any socket timeout, the whole answer would take 10 s: the call's
    deadline (the node's timeout, 1 s) ends it."""
    result = call(f"{api.url}{path}", allow=True, timeout=1)
    assert result.status == 0 and result.error == "no complete answer within 1 s (the node's timeout)"


def test_only_http_urls(api):
    assert call("file:///etc/passwd").error == "only http(s) URLs are allowed"
    result = call(f"{api.url}/redirect?to=file:///etc/passwd", allow=True)
    assert result.status == 0 and "only http(s)" in result.error


def test_the_setting_parses_networks_and_refuses_bad_values(monkeypatch):
    from webapp.config import Config

    monkeypatch.setenv("HTTP_REQUEST_ALLOW_PRIVATE", "10.1.0.0/16, fd00::/8")
    allowed = Config().HTTP_REQUEST_ALLOW_PRIVATE
    assert allowed == (ipaddress.ip_network("10.1.0.0/16"), ipaddress.ip_network("fd00::/8"))
    monkeypatch.setenv("HTTP_REQUEST_ALLOW_PRIVATE", "1")
    assert Config().HTTP_REQUEST_ALLOW_PRIVATE is True
    monkeypatch.delenv("HTTP_REQUEST_ALLOW_PRIVATE")
    assert Config().HTTP_REQUEST_ALLOW_PRIVATE is False
    monkeypatch.setenv("HTTP_REQUEST_ALLOW_PRIVATE", "intranet")
    with pytest.raises(RuntimeError, match="HTTP_REQUEST_ALLOW_PRIVATE must be"):
        Config()


# --- through the pipeline: a customer's DM runs a flow with an http_request node ---------------------

def order_flow(url: str) -> dict[str, Any]:
    nodes = [
        {"id": "start", "type": "trigger", "data": {"keywords": ["order"]}},
        {"id": "call", "type": "http_request", "data": {"method": "POST", "url": url, "body": {"q": "{{last_message}}"},
                                                        "response": {"status": "json.q"}, "timeout": 5}},
        {"id": "ok", "type": "message", "data": {"text": "Your order: {{status}}"}},
        {"id": "failed", "type": "message", "data": {"text": "Our order system is not answering."}},
    ]
    edges = [{"id": "e1", "source": "start", "target": "call"},
             {"id": "e2", "source": "call", "sourceHandle": "ok", "target": "ok"},
             {"id": "e3", "source": "call", "sourceHandle": "error", "target": "failed"}]
    return {"schema_version": 1, "name": "Orders", "nodes": nodes, "edges": edges}


def publish_order_flow(tenant: Any, url: str) -> None:
    from webapp.extensions import db
    from webapp.services.flows import create_flow, publish

    publish(create_flow(tenant, "Orders", order_flow(url)))
    db.session.commit()


def dm_reply(client: Any, wired: Any, mid: str, text: str) -> str:
    before = len(wired.graph.messages)
    assert post(client, mp.ig_dm_body(IG_ACCOUNT, "IGSID-HTTP", mid, text), IG_SECRET).status_code == 200
    wired.queue.drain()
    return wired.graph.messages[before:][-1].json["message"]["text"]


def test_pipeline_refuses_a_loopback_integration_by_default(client, wired, make_tenant, api, caplog):
    from webapp.services.channels import add_channel

    tenant = make_tenant("Integrations", plan="PRO")
    add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token="t")
    publish_order_flow(tenant, f"http://localhost:{api.port}/json")
    with caplog.at_level(logging.INFO, logger="connectors.pipeline.effects"):
        assert dm_reply(client, wired, "mid.h1", "order 5") == "Our order system is not answering."
    assert api.requests == []
    assert any("integration call failed" in r.getMessage() and "resolves to" in r.getMessage()
               and "loopback" in r.getMessage() for r in caplog.records)


def test_pipeline_calls_a_loopback_integration_when_allowed(client, wired, make_tenant, api, monkeypatch):
    from webapp.services.channels import add_channel

    monkeypatch.setitem(wired.app.config, "HTTP_REQUEST_ALLOW_PRIVATE", True)
    tenant = make_tenant("Integrations", plan="PRO")
    add_channel(tenant, "instagram", external_id=IG_ACCOUNT, token="t")
    publish_templates(tenant, "lead_capture")
    publish_order_flow(tenant, f"{api.url}/json")
    assert dm_reply(client, wired, "mid.h2", "order 5") == "Your order: order 5"
    assert api.requests[0].json == {"q": "order 5"}
