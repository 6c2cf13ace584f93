"""The drift watch: scan the fleet on an interval, remember each pool's state and history, and
tell Slack and Prometheus about each change once (see ``engine.Watch``)."""
