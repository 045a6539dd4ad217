"""The one error type that build steps raise: its message names the problem and the fix."""


class BuildError(Exception):
    """A build or setup step failed; the message says which and what to do."""
