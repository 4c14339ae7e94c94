"""gunicorn settings for `bench/soak.py --no-guard`: the app without its CPython 3.11 guard (to see the crash)."""

import os

os.environ["FEEDBACK_APP_NO_RUNTIME_GUARD"] = "1"
