"""The one error type the tools raise for problems a user can act on."""


class ToolError(Exception):
    """A failure whose message says what went wrong and what to do next; shown without a traceback."""
