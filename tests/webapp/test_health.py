def test_healthz_reports_database_and_queue(client, app):
    resp = client.get("/healthz")
    body = resp.get_json()
    assert resp.status_code == 200
    assert body["database"] == "ok"
    assert body["queue"]["state"] == "ok"
    assert body["queue"]["backend"] == ("rq" if app.config.get("REDIS_URL") else "embedded")


def test_healthz_says_when_redis_is_down(db):
    from tests.helpers.web import make_config
    from webapp import create_app

    broken = create_app(make_config(db.engine.url.render_as_string(hide_password=False),
                                    REDIS_URL="redis://127.0.0.1:1/0"))
    resp = broken.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["queue"]["state"] == "unreachable"
