"""Operator tools that run outside `pulumi up` (e.g. benchmark reporting)."""
