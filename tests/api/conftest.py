"""API fixtures: a signed-in member with the CSRF token the editor page would hand to the bundle."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers.web import csrf_token


class Api:
    """Calls /api like the editor bundle: JSON bodies, `X-CSRFToken` on writes."""

    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def call(self, method: str, path: str, body: Any = None, *, csrf: bool = True, raw: str | None = None,
             **kw: Any) -> Any:
        headers = {"X-CSRFToken": self.token} if csrf and method != "GET" else {}
        if raw is not None:
            return self.client.open("/api" + path, method=method, headers=headers, data=raw,
                                    content_type="application/json", **kw)
        extra = {} if body is None else {"json": body}
        return self.client.open("/api" + path, method=method, headers=headers, **extra, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, {} if body is None else body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.call("DELETE", path, **kw)


@pytest.fixture()
def api(member_client: Any) -> Api:
    return Api(member_client, csrf_token(member_client))


@pytest.fixture()
def lead_flow(api: Api) -> dict[str, Any]:
    resp = api.post("/flows", {"name": "Leads", "template": "lead_capture"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


@pytest.fixture()
def other_flow(db: Any, make_tenant: Any) -> Any:
    from webapp.services.flows import create_flow, publish, template_document

    b = make_tenant("Tenant B")
    flow = create_flow(b, "B flow", template_document("lead_capture"))
    publish(flow)
    db.session.commit()
    return flow
