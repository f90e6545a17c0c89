"""Browser tests of the course in JupyterLab (see README.md)."""
import os

import pytest

INSTALL = ("install the browser with `apt-get update && apt-get install -y chromium "
           "chromium-driver` (Debian) and Playwright for Python with `pip install playwright`; "
           "no `playwright install` is needed (set ASYNCLAB_E2E_CHROMIUM to use another Chromium)")

# Set in CI: a missing browser or Playwright then fails the run instead of skipping it.
REQUIRED = os.environ.get("ASYNCLAB_E2E_REQUIRED", "") not in ("", "0")


def skip_or_fail(reason: str) -> None:
    """Skip (a learner without a browser) or, where the e2e tests are required, fail."""
    if REQUIRED:
        pytest.fail(f"{reason} (ASYNCLAB_E2E_REQUIRED is set)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def require_playwright() -> None:
    """Skip the calling test module, saying how to install, when Playwright is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ModuleNotFoundError:
        skip_or_fail(f"Playwright for Python is not installed: {INSTALL}")
