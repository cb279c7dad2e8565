"""The job runtime: the queue (RQ on Redis, or the embedded queue), the worker processes, the job entry
points, and the liveness of workers (heartbeats) the sweeper recovers by."""
