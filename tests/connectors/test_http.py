"""Retry/backoff behaviour of connectors.channels.http, exercised through real sends against the fakes."""

import threading
from dataclasses import replace

from connectors.channels import http
from connectors.channels.events import ConnectorConfig, Outbound
from connectors.channels.registry import get_connector
from tests.helpers.threads import recorded_sleeps

TOKEN = "EAAG-test-token-0123456789"
WA = {"access_token": TOKEN, "phone_number_id": "106540352242922"}
wa = get_connector("whatsapp")
ig = get_connector("instagram")


def send(config):
    return wa.send(WA, Outbound("message", "16505551234", "hi"), config)


def test_429_then_success_honours_retry_after_header(graph_api, connector_config, monkeypatch):
    graph_api.fail(status=429, times=1, headers={"Retry-After": "1"})
    slept = recorded_sleeps(monkeypatch)
    result = send(connector_config)
    assert result.status == "sent"
    assert slept == [1.0]  # the server's Retry-After, not the config's (0.01-0.05 s) backoff
    assert len(graph_api.messages) == 2


def test_transient_errors_are_retried_with_backoff(graph_api, connector_config):
    graph_api.fail(status=503, times=2)
    result = send(connector_config)
    assert result.status == "sent"
    assert len(graph_api.messages) == 3


def test_500_until_retries_give_up(graph_api, connector_config):
    graph_api.fail(status=500, times=None)
    result = send(connector_config)
    assert result.status == "failed" and result.retryable and not result.token_invalid
    assert result.error_code == 2
    assert len(graph_api.messages) == connector_config.max_attempts == 4


def test_max_attempts_is_respected(graph_api, connector_config):
    graph_api.fail(status=502, times=None)
    send(replace(connector_config, max_attempts=2))
    assert len(graph_api.messages) == 2


def test_other_4xx_are_not_retried(graph_api, connector_config):
    graph_api.fail(status=400, times=None, code=100, message="Invalid parameter")
    result = send(connector_config)
    assert result.status == "failed" and not result.retryable and result.error_code == 100
    assert "Invalid parameter" in result.error
    assert len(graph_api.messages) == 1


def test_token_error_190_is_not_retried(graph_api, connector_config):
    graph_api.fail_token(times=None)
    result = send(connector_config)
    assert result.token_invalid and not result.retryable and result.error_code == 190
    assert len(graph_api.messages) == 1


def test_connection_refused_is_retryable_and_masked(connector_config):
    config = replace(connector_config, meta_graph_url="http://127.0.0.1:9", max_attempts=2)
    result = send(config)
    assert result.status == "failed" and result.retryable and result.external_id is None
    assert TOKEN not in result.error


def test_a_read_timeout_of_a_message_is_an_unknown_outcome_not_retried(graph_api, connector_config):
    """The request reached the channel (which delivered it) but the answer came too late: sending it again
    would give the customer two copies, so it comes back `outcome_unknown` instead."""
    graph_api.delay(0.6, times=1)
    result = send(replace(connector_config, timeout=0.3))
    assert result.status == "failed" and result.outcome_unknown and not result.retryable
    assert len(graph_api.messages) == 1


def test_read_timeout_is_not_retried_for_private_replies(graph_api, connector_config):
    graph_api.delay(0.6, times=1)
    out = Outbound("private_reply", "179000001", "price list")
    result = ig.send({"access_token": TOKEN}, out, replace(connector_config, timeout=0.3))
    assert result.status == "failed" and not result.retryable
    assert "Timeout" in result.error
    assert len(graph_api.messages) == 1


def test_request_returns_results_not_exceptions(graph_api, connector_config):
    result = http.request("GET", f"{graph_api.url}/v21.0/me", config=connector_config,
                          headers={"Authorization": f"Bearer {TOKEN}"}, secrets=[TOKEN])
    assert result.ok and result.data["username"] == "fake_shop" and result.attempts == 1
    assert graph_api.last.header("User-Agent").startswith("TemoWeb-Bots")


def test_mask_secrets():
    text = ("GET https://api.telegram.org/bot123456:AAE-x_y/sendMessage?access_token=abc123&x=1 "
            "Authorization: Bearer EAAGsecret mytoken-value")
    masked = http.mask_secrets(text, ["mytoken-value", "", None])
    for secret in ("AAE-x_y", "abc123", "EAAGsecret", "mytoken-value"):
        assert secret not in masked
    assert "x=1" in masked


def test_server_error_is_not_retried_for_private_replies(graph_api, connector_config):
    graph_api.fail(status=500, times=None)
    out = Outbound("private_reply", "179000001", "price list")
    result = ig.send({"access_token": TOKEN}, out, connector_config)
    assert result.status == "failed" and not result.retryable and "outcome unknown" in result.error
    assert len(graph_api.messages) == 1


def test_rate_limited_private_reply_is_still_retried(graph_api, connector_config):
    graph_api.fail(status=429, times=1)
    result = ig.send({"access_token": TOKEN}, Outbound("private_reply", "c9", "hi"), connector_config)
    assert result.status == "sent" and len(graph_api.messages) == 2


def test_other_request_errors_become_results(connector_config):
    result = http.request("GET", "http://[invalid", config=connector_config)
    assert result.status_code is None and result.outcome_unknown and result.error


def test_a_post_whose_connection_dropped_after_the_server_read_it_is_unknown_not_repeated():
    """The server read the whole POST (and, say, delivered the message), then the connection dropped before
    the answer: that is no failure to connect, so it is not sent again."""
    import json
    import socket

    received = []

    def serve(sock):
        conn, _ = sock.accept()
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, body = data.split(b"\r\n\r\n", 1)
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length")))
        while len(body) < length:
            body += conn.recv(65536)
        received.append(json.loads(body))
        conn.close()

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    threading.Thread(target=serve, args=(server,), daemon=True).start()
    config = ConnectorConfig(backoff_base=0.01, backoff_max=0.02)
    result = http.request("POST", f"http://127.0.0.1:{server.getsockname()[1]}/v21.0/me/messages", config=config,
                          json={"recipient": {"id": "1"}, "message": {"text": "Your order is confirmed"}})
    server.close()
    assert result.status_code is None and result.outcome_unknown and result.attempts == 1
    assert len(received) == 1


def test_a_refused_connection_is_retried_it_never_left(connector_config):
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    result = http.request("POST", f"http://127.0.0.1:{port}/x", config=replace(connector_config, max_attempts=2),
                          json={})
    assert result.status_code is None and not result.outcome_unknown and result.attempts == 2
