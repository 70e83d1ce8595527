"""Entry point Pulumi runs for `pulumi preview --policy-pack policy` (working directory: policy/).

The policies are in policies.py, next to this file; they import tools/invariants.py from the
repository root (see policies.py).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pulumi_policy import PolicyPack  # noqa: E402

from policies import ENFORCEMENT, PACK_NAME, POLICIES  # noqa: E402

PolicyPack(name=PACK_NAME, enforcement_level=ENFORCEMENT, policies=POLICIES)
