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
