"""Benchmark: CPU instructions per message through `handle_inbound` vs. RQ's no-op job, counted by callgrind.

    .venv/bin/python bench/instructions.py                    # lead_capture flow, 10 contacts x 4 turns
    .venv/bin/python bench/instructions.py --flow llm         # every message through the `llm` node
    .venv/bin/python bench/instructions.py --contacts 20

bench/pipeline.py times the same passes, and on these machines time drifts by up to 2x within an hour, so
two runs of one change can disagree more than the change itself. Instructions do not drift: the script runs
itself under `valgrind --tool=callgrind` (apt package `valgrind`; `gcc` builds the tiny helper that turns
counting on and off) and counts only the worker process's instructions inside each measured burst, so the
same code gives the same count to within ~1%, whatever else the machine does. What it cannot see: the
PostgreSQL, Redis and fake-server processes, and time spent waiting on them (bench/pipeline.py shows those).

Passes (one process, `rq.SimpleWorker`, built as bench/pipeline.py builds it, fakes in child processes):
* noop:     N jobs `bench._common.noop(i)`: RQ's own per-job instructions (dequeue, job hash, registries).
* pipeline: N stored Instagram DMs through `connectors.runtime.jobs.handle_inbound` (lead_capture, or `--flow llm`
            with the real openai client against the fake answering at once), replies sent to the fake.
Prints millions of instructions per job / message and the ratio noop/pipeline: the share of a message's
instructions that RQ itself costs (bench/pipeline.py's ratio, measured in instructions instead of time).
Takes a few minutes (callgrind runs Python ~50x slower).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (  # noqa: E402  # noqa: E402
    DEFAULT_PG,
    DEFAULT_REDIS,
    ROOT,
    clean_redis,
    make_app,
    queue_prefix,
    say,
    scratch_database,
    setup_tenant,
)

INSIDE = "BENCH_UNDER_CALLGRIND"
HELPER_C = r"""
#include <valgrind/callgrind.h>
void measure_start(void) { CALLGRIND_ZERO_STATS; CALLGRIND_TOGGLE_COLLECT; }
void measure_stop(const char *name) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_DUMP_STATS_AT(name); }
"""


def build_helper(workdir: Path) -> Path:
    """A shared library whose two functions are callgrind client requests (Python cannot issue them)."""
    source, library = workdir / "measure.c", workdir / "measure.so"
    source.write_text(HELPER_C)
    subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-o", str(library), str(source)], check=True)
    return library


def counted(out_prefix: Path) -> dict[str, int]:
    """Instructions per dumped pass, from callgrind's output files (`desc: Trigger: Client Request: NAME`)."""
    totals: dict[str, int] = {}
    for path in out_prefix.parent.glob(out_prefix.name + "*"):
        name, total = None, None
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("desc: Trigger: Client Request: "):
                name = line.rsplit(": ", 1)[-1].strip()
            elif line.startswith(("summary:", "totals:")) and total is None:
                total = int(line.split()[1])
        if name and total is not None:
            totals[name] = total
    return totals


def measured_run(args: argparse.Namespace) -> None:
    """Inside callgrind: set up, then one noop and one pipeline burst, each counted on its own."""
    import bench.pipeline as bp

    measure = ctypes.CDLL(os.environ[INSIDE])
    prefix = queue_prefix("instr")
    fake, url = bp.start_fake(3600, nagle=False)
    fake_llm = None
    try:
        with scratch_database(args.pg_url, f"bench_instr_{os.getpid()}") as database_url:
            config: dict[str, Any] = {"META_GRAPH_URL": url, "INSTAGRAM_GRAPH_URL": url, "CONNECTOR_TIMEOUT": 120.0,
                                      "CONNECTOR_RATELIMIT_STORAGE": "none://", "RATELIMIT_STORAGE_URI": "memory://"}
            if args.flow == "llm":
                fake_llm, llm_url = bp.start_fake_llm(3600)
                config.update(OPENAI_API_KEY="sk-bench", OPENAI_BASE_URL=llm_url, OPENAI_MODEL="fake-gpt",
                              OPENAI_TIMEOUT=300)
            app = make_app(database_url, args.redis_url, prefix, **config)
            ids = setup_tenant(app, plan="PRO", templates=("lead_capture",))
            if args.flow == "llm":
                bp.publish_llm_flow(app, ids["tenant_id"])
            from connectors.runtime import jobs

            jobs.bind_app(app)
            worker = argparse.Namespace(worker="simple", threads=1)
            warm = bp.store_events(app, range(3), len(bp.TURNS), "warm")  # imports, pools, flow cache
            bp.enqueue_noops(app, len(warm))
            bp.run_worker(app, worker)
            events = bp.store_events(app, range(10, 10 + args.contacts), len(bp.TURNS), "m")
            noops = _noop_queue(app, len(events))
            measure.measure_start()
            noops.work(burst=True, logging_level="WARNING")
            measure.measure_stop(b"noop")
            measure.measure_start()
            bp.run_worker(app, worker)
            measure.measure_stop(b"pipeline")
            outcome = bp.outcome(app, events)
            if outcome["events"].get("done") != len(events):
                raise RuntimeError(f"not every event was answered: {outcome}")
            print(f"MESSAGES {len(events)}", flush=True)
    finally:
        for child in (fake, fake_llm):
            if child is not None:
                child.stop()
        clean_redis(args.redis_url, prefix)


def _noop_queue(app: Any, count: int) -> Any:
    """A burst worker over a queue of `count` no-op jobs and nothing else (the events wait on `high`)."""
    from rq import Queue, SimpleWorker

    from bench.pipeline import NOOP
    from connectors.runtime.queue import get_queue

    connection = get_queue(app).connection  # type: ignore[attr-defined]
    queue = Queue(app.config["QUEUE_PREFIX"] + "noop", connection=connection)
    for i in range(count):
        queue.enqueue(NOOP, i)
    return SimpleWorker([queue], connection=connection)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flow", choices=("lead_capture", "llm"), default="lead_capture")
    parser.add_argument("--contacts", type=int, default=10, help="contacts, 4 messages each")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    if os.environ.get(INSIDE):
        measured_run(args)
        return 0
    for tool in ("valgrind", "gcc"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install valgrind gcc)")
    with tempfile.TemporaryDirectory(prefix="bench-instr-") as tmp:
        workdir = Path(tmp)
        helper = build_helper(workdir)
        out = workdir / "callgrind.out"
        say(f"running under callgrind ({args.flow}, {args.contacts} contacts x 4 messages): a few minutes")
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--collect-atstart=no", f"--callgrind-out-file={out}",
             sys.executable, str(Path(__file__).resolve()), "--flow", args.flow, "--contacts", str(args.contacts),
             "--pg-url", args.pg_url, "--redis-url", args.redis_url],
            cwd=ROOT, env={**os.environ, INSIDE: str(helper)}, capture_output=True, text=True)
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("MESSAGES ")]
        if done.returncode != 0 or not lines:
            sys.stderr.write(done.stderr[-3000:])
            sys.exit(f"the measured run failed (exit {done.returncode})")
        messages = int(lines[-1].split()[1])
        totals = counted(out)
    noop, pipeline = totals["noop"] / messages, totals["pipeline"] / messages
    print(f"instructions benchmark: one process, rq.SimpleWorker, {messages} messages, {args.flow} flow; "
          "callgrind counts the worker process only")
    print(f"RESULT noop {noop / 1e6:.2f} M instructions/job | handle_inbound {pipeline / 1e6:.2f} M/msg | "
          f"ratio noop/handle_inbound {noop / pipeline:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
