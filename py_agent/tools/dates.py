"""`datetime`: the current date and time (the device's clock, UTC unless a zone is given)."""

import datetime as dt

from py_agent.tools import Tool, ToolError, tool


def now(utc_offset_hours: float = 0.0) -> str:
    """Today's date, weekday and time; optionally at a UTC offset in hours, e.g. 2 or -5."""
    if not -14 <= utc_offset_hours <= 14:
        raise ToolError("utc_offset_hours must be between -14 and 14")
    zone = dt.timezone(dt.timedelta(hours=utc_offset_hours))
    t = dt.datetime.now(zone)
    return t.strftime("%A %Y-%m-%d %H:%M (UTC%z)")


DATETIME: Tool = tool(now, name="datetime", example='{"utc_offset_hours": 0}')
