"""Offline plan of a stack: what it creates, whether it is valid, and what changed since a base plan.

    python -m tools.plan --stack ib [--out build/plan/ib] [--base <earlier plan dir>] [--set decode.replicas=2]

From Python: `from tools.plan import make_plan`. Imported lazily, so that `python -m tools.plan`
can switch off the garbage collector before the SDKs load (see __main__.py).
"""

__all__ = ["PlanResult", "make_plan"]


def __getattr__(name: str):
    if name in __all__:
        from tools.plan import core  # noqa: PLC0415

        return getattr(core, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
