"""Operator commands for the demo, the pipeline and the worker."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from .extensions import db
from .models import Tenant, User

DEMO_TENANT = "Demo Beauty Studio"
DEMO_OWNER = ("owner@demo.example.com", "demo-owner-123")
DEMO_STAFF = ("staff@demo.example.com", "demo-staff-123")

DEMO_PROFILE = {
    "niche": "beauty salon",
    "offer": "Haircuts, colouring and manicure in the city centre; 10% off the first visit",
    "prices": "Haircut from 30 EUR; colouring from 60 EUR; manicure 25 EUR",
    "address": "12 Main Street, Riga",
    "hours": "Mon–Sat 10:00–20:00",
    "tone": "friendly",
    "faq": [
        {"q": "What are your opening hours?", "a": "We are open Monday to Saturday, 10:00–20:00."},
        {"q": "How much does a haircut cost?", "a": "A haircut starts at 30 EUR."},
        {"q": "Where are you located?", "a": "12 Main Street, Riga — next to the central park."},
        {"q": "Сколько стоит стрижка?", "a": "Стрижка — от 30 евро."},
        {"q": "Какой у вас график работы?", "a": "Мы работаем с понедельника по субботу, 10:00–20:00."},
    ],
}


def seed_demo() -> dict[str, object]:
    """Idempotent: safe to run on every `make run`."""
    from .channels_service import add_channel
    from .cli import create_tenant
    from .flowstore import seed_templates_for
    from .plans import ensure_default_plans
    from .prompt_library import ensure_default_layers

    ensure_default_plans()
    ensure_default_layers()
    tenant = db.session.scalar(select(Tenant).where(Tenant.name == DEMO_TENANT))
    if tenant is None:
        tenant = create_tenant(DEMO_TENANT, "PRO", "en", slug="demo")
        tenant.profile = DEMO_PROFILE
        db.session.commit()
    for email, password, staff in ((DEMO_OWNER[0], DEMO_OWNER[1], False), (DEMO_STAFF[0], DEMO_STAFF[1], True)):
        if db.session.scalar(select(User).where(User.email == email)) is None:
            user = User(email=email, tenant_id=None if staff else tenant.id, role="staff" if staff else "owner")
            user.set_password(password)
            db.session.add(user)
    db.session.commit()
    from .models import Channel

    webchat = db.session.scalar(select(Channel).where(Channel.tenant_id == tenant.id, Channel.type == "webchat"))
    if webchat is None:
        webchat = add_channel(tenant, "webchat", name="Website chat")
    flows = seed_templates_for(tenant, ["lead_capture", "instagram_comment_to_dm"], publish_now=True)
    base = current_app.config["PUBLIC_BASE_URL"]
    return {"tenant": {"id": tenant.id, "name": tenant.name},
            "owner": {"email": DEMO_OWNER[0], "password": DEMO_OWNER[1], "login": f"{base}/login"},
            "staff": {"email": DEMO_STAFF[0], "password": DEMO_STAFF[1], "admin": f"{base}/admin"},
            "webchat_demo": f"{base}/webchat/demo/{webchat.public_key}",
            "flows": [{"id": f.id, "name": f.name} for f in flows]}


def register_more(app: Flask) -> None:
    from .cli import emit

    @app.cli.group()
    def demo() -> None:
        """Demo data."""

    @demo.command("seed")
    def demo_seed() -> None:
        emit(seed_demo())

    @app.cli.group()
    def layers() -> None:
        """The platform's prompt layers (base and niche)."""

    @layers.command("seed")
    def layers_seed() -> None:
        """Add the default base and niche layers that are missing; staff edits are kept."""
        from .prompt_library import ensure_default_layers

        emit(ensure_default_layers())

    @app.cli.command("worker")
    @click.option("--queues", default="high,default,low", help="comma-separated, highest priority first")
    @click.option("--burst", is_flag=True, help="exit when the queues are empty")
    @click.option("--threads", type=click.IntRange(1, 500), default=None, envvar="WORKER_THREADS",
                  help="jobs in progress at once in each process (default 50)")
    @click.option("--processes", type=click.IntRange(1, 64), default=None, envvar="WORKER_PROCESSES",
                  help="worker processes to start, each with --threads threads (default: 2 per CPU core)")
    @click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
                  default="WARNING", envvar="WORKER_LOG_LEVEL", show_default=True,
                  help="RQ's own log lines; INFO logs every job (three lines each), WARNING only problems")
    def worker(queues: str, burst: bool, threads: int | None, processes: int | None, log_level: str) -> None:
        """Run RQ worker process(es) for this app (needs REDIS_URL). The defaults are the sizing
        docs/deploy.md gives: 2 processes per core (the GIL lets a process use one core), 50 threads each."""
        from connectors.runtime.worker import DEFAULT_THREADS, default_processes, run_worker, run_worker_processes

        if not current_app.config.get("REDIS_URL"):
            raise click.ClickException("REDIS_URL is not set: the embedded queue runs jobs inside `flask run`")
        names = [q.strip() for q in queues.split(",") if q.strip()]
        level = log_level.upper()
        processes = processes or default_processes()
        threads = threads or DEFAULT_THREADS
        click.echo(f"worker: {processes} process(es) x {threads} threads on queues {','.join(names)}, "
                   f"log level {level}", err=True)
        try:
            if processes > 1:
                run_worker_processes(processes, names, burst=burst, threads=threads, log_level=level)
            else:
                run_worker(current_app._get_current_object(), names, burst=burst, threads=threads, log_level=level)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
