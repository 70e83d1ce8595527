"""Environment variable names that hold credentials: their values come from a Secret, never plain text.

Standard library only: the policy pack imports it too.
"""

import re

# TOKEN only as a whole word: TIKTOKEN_ENCODINGS_BASE (a directory) and TOKENIZERS_PARALLELISM are not credentials.
CREDENTIAL_ENV_NAME = re.compile(r"((?<![A-Z])TOKENS?(?![A-Z])|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|CREDENTIAL|PRIVATE_?KEY)", re.IGNORECASE)

# Pod-template annotation naming the Secrets a pod reads that the stack does not create
# (`<role>.secretEnv`), comma-separated; the invariants accept references to exactly these.
EXTERNAL_SECRETS_ANNOTATION = "llm-d.ai/external-secrets"
