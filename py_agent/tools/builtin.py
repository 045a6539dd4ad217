"""The tools every front end offers: the CLI, the page and the tests build the same set."""

from py_agent.retrieval.search import DocsSearch
from py_agent.tools import ToolRegistry
from py_agent.tools.calculator import CALCULATOR
from py_agent.tools.dates import DATETIME
from py_agent.tools.search_docs import make_search_docs
from py_agent.tools.units import CONVERT_UNITS


def builtin_tools(search: DocsSearch | None = None) -> ToolRegistry:
    """calculator, convert_units, datetime, and search_docs when a document search is given."""
    tools = ToolRegistry([CALCULATOR, CONVERT_UNITS, DATETIME])
    if search is not None:
        tools.add(make_search_docs(search))
    return tools
