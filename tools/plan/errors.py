"""The one error a plan reports as bad input (exit 2) rather than as a crash."""


class PlanInputError(Exception):
    """A missing stack file, CRD directory or base plan, an unusable --out, or a malformed --set."""
