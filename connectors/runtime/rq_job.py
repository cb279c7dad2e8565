"""The RQ job class our queues and workers use."""

from __future__ import annotations

from typing import Any

from rq.job import Job as _RQJob
from rq.serializers import DefaultSerializer


class Job(_RQJob):
    """RQ's `Job`, unchanged on the wire, minus a `typing.Protocol` check per job object.

    RQ resolves the serializer of every Job it creates or fetches with `isinstance(serializer, Serializer)`,
    a runtime-checkable Protocol; on Python 3.11 `typing` re-derives the protocol's members on each such
    check. Our queues always use RQ's default serializer, and for that one (passed as None) RQ skips the
    check. Measured: about 10% of a webhook request's CPU under load (bench/ingest.py, py-spy).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("serializer") is DefaultSerializer:
            kwargs["serializer"] = None
        elif len(args) >= 3 and args[2] is DefaultSerializer:
            args = (*args[:2], None, *args[3:])
        super().__init__(*args, **kwargs)
