"""`llmc oneshot --plan`'s estimate against what the run measured (issue 6: within 25%).

Every llmc run logs its plan as the first --log-json event, made before any work; the bench's own measurement of
the same process gives the wall time and peak RSS, and the run's later events the seconds of each stage that names
one (`event`, and `modifier` where a modifier's stage)."""
import json
import pathlib

from measure import Measurement

TOLERANCE = 0.25  # issue 6: estimates and measurements agree within 25%


def read_events(path: pathlib.Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _stage_seconds(stage: dict, events: list) -> float | None:
    """The seconds the run's events measured for a stage of the plan; None where it names no event."""
    if "event" not in stage:
        return None
    return sum(event["seconds"] for event in events if event["event"] == stage["event"] and "seconds" in event
               and ("modifier" not in stage or event.get("modifier") == stage["modifier"]))


def compare_plan(events_log: pathlib.Path, measurement: Measurement) -> dict:
    """The plan's totals and stages next to the measured ones, with estimate/measured ratios."""
    events = read_events(events_log)
    plans = [event["plan"] for event in events if event["event"] == "plan"]
    if len(plans) != 1:
        raise RuntimeError(f"{events_log}: expected one plan event, found {len(plans)}")
    plan = plans[0]
    stages = [{"name": stage["name"], "estimated_s": stage["seconds"], "measured_s": _stage_seconds(stage, events),
               "measured_by_plan": stage["measured"]} for stage in plan["stages"]]
    return {"estimated_s": plan["seconds"], "measured_wall_s": measurement.wall_s,
            "time_ratio": plan["seconds"] / measurement.wall_s,
            "estimated_peak_bytes": plan["peak_bytes"], "measured_peak_rss_bytes": measurement.peak_rss_bytes,
            "memory_ratio": plan["peak_bytes"] / measurement.peak_rss_bytes, "stages": stages}


def within_tolerance(ratio: float) -> bool:
    return abs(ratio - 1) <= TOLERANCE
