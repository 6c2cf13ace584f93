"""Tool-call counters and latency sums, rendered in the Prometheus text format.

Dependency-free on purpose: two labelled families do not justify prometheus_client.
"""

from __future__ import annotations

from collections import Counter, defaultdict

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Counts of tool calls by (tool, outcome) and latency sums by tool, for one process."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.timed: Counter[str] = Counter()

    def record(self, tool: str, outcome: str, seconds: float) -> None:
        # single-threaded event loop: no lock needed
        self.calls[(tool, outcome)] += 1
        self.seconds[tool] += seconds
        self.timed[tool] += 1

    def render(self) -> str:
        lines = [
            "# HELP pooldrift_tool_calls_total MCP tool calls by tool and outcome.",
            "# TYPE pooldrift_tool_calls_total counter",
        ]
        lines += [
            f'pooldrift_tool_calls_total{{tool="{tool}",outcome="{outcome}"}} {count}'
            for (tool, outcome), count in sorted(self.calls.items())
        ]
        lines += [
            "# HELP pooldrift_tool_call_seconds Time spent in MCP tool calls.",
            "# TYPE pooldrift_tool_call_seconds summary",
        ]
        for tool in sorted(self.timed):
            lines.append(f'pooldrift_tool_call_seconds_sum{{tool="{tool}"}} {self.seconds[tool]:.6f}')
            lines.append(f'pooldrift_tool_call_seconds_count{{tool="{tool}"}} {self.timed[tool]}')
        return "\n".join(lines) + "\n"
