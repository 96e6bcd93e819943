"""Identity: users, groups, roles, sessions, API tokens and the audit log."""
