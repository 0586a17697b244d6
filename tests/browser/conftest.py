"""Browser tests run against the stack that `make test` started (MARKETLENS_URL, MARKETLENS_RUN_DIR,
DATABASE_URL), or start their own like the whole-stack tests."""
from stack.conftest import stack  # noqa: F401  (the session fixture, shared)
