"""Core tests: the fairhub test kit's fixtures (loaded as a pytest plugin) plus these."""
from __future__ import annotations

import pytest

from fairhub.plugins import installed_plugins

SAMPLE = "sample_plugin.plugin"
# The built-in plugins and the sample one: for tests that cover whatever routes exist.
EVERY_PLUGIN = [*installed_plugins(), SAMPLE]


@pytest.fixture
def fairhub_plugins():
    """Core tests run with the sample third-party plugin only."""
    return [SAMPLE]


def signed_in(app, role: str = "standard"):
    """A test client of ``app`` with a new ``role`` user's token."""
    from fairhub import db
    from fairhub.identity import tokens, users
    from fairhub import utcnow
    from datetime import timedelta
    import uuid

    with app.app_context():
        user = users.create_user({"email": f"{uuid.uuid4().hex[:8]}@example.org", "role": role,
                                  "approved": True}, None)
        _token, secret = tokens.issue_token(user, name="t", role=role, reason="test",
                                            valid_to=utcnow() + timedelta(days=1))
        db.session.commit()
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client
