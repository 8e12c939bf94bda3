"""Fixtures for the accounting sync: local emulators of the accounting systems, one block each."""

import pytest

# --- QuickBooks Online ---
from tests.accounting.quickbooks_emulator import QuickBooksEmulator


@pytest.fixture(scope="session")
def _quickbooks_server():
    server = QuickBooksEmulator().start()
    yield server
    server.stop()


@pytest.fixture
def quickbooks(_quickbooks_server, settings):
    """The QuickBooks emulator with empty books, and the settings pointing at it."""
    _quickbooks_server.reset()
    _quickbooks_server.use_in(settings)
    return _quickbooks_server


# --- end QuickBooks Online ---

# --- Xero ----------------------------------------------------------------------------------------
from tests.accounting.xero_emulator import XeroEmulator, XeroSpec  # noqa: E402

XERO_WEBHOOK_KEY = "test-webhook-key-0123456789"


@pytest.fixture(scope="session")
def xero_spec():
    """Xero's OpenAPI files, loaded once per session (about a second)."""
    return XeroSpec()


@pytest.fixture
def xero(settings, xero_spec):
    """A fresh local Xero with its own books; settings point the connector at it.

    Every request and response body is checked against Xero's published schemas; a mismatch
    fails the test that caused it (set `xero.validate = False` to skip, e.g. for timing)."""
    emulator = XeroEmulator(spec=xero_spec).start()
    emulator.use_in(settings)
    settings.XERO_WEBHOOK_KEY = XERO_WEBHOOK_KEY
    yield emulator
    emulator.stop()
    if emulator.validation_errors:
        pytest.fail(
            "The Xero emulator's traffic does not match Xero's OpenAPI schemas (or it failed):\n"
            + "\n".join(emulator.validation_errors)
        )


# --- end of Xero ---------------------------------------------------------------------------------
