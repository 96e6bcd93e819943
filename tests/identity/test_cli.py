"""The operator CLI: ``fairhub init``, ``fairhub users ...`` and ``fairhub tokens ...``.

Commands run through click's CliRunner on this test's database, migrated by ``db upgrade``;
what they make is checked through the HTTP API of an app on the same database.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from fairhub.testing import bearer

STEWARD = "boss@example.org"
USER = "ada@example.org"
SECRET_LINE = re.compile(r"^fh_[A-Za-z0-9_-]+$")
IN_A_MONTH = (date.today() + timedelta(days=30)).isoformat()
USERS_HEADER = ["EMAIL", "ROLE", "APPROVAL", "STATUS"]
TOKENS_HEADER = ["ID", "OWNER", "NAME", "ROLE", "STATUS", "VALID TO"]


def assert_clean_failure(result, message: str) -> None:
    """A non-zero exit with an `Error: ` sentence, no traceback and no raw JSON."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert "\nError: " in "\n" + result.stderr, result.stderr
    told = result.stderr[result.stderr.index("Error: "):]
    assert message in told
    assert not re.search(r"[{}\[\]]", told), told
    assert "fh_" not in result.stdout


def table(result, header: list[str]) -> list[list[str]]:
    """A command's list: the header row checked, then the rows as lists of cells. Columns
    are aligned, so every cell starts where its header does."""
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    if not lines:
        return []
    assert re.split(r" {2,}", lines[0]) == header, lines[0]
    starts = [lines[0].index(name) for name in header]
    return [[line[start:end].strip() for start, end in zip(starts, starts[1:] + [None])]
            for line in lines[1:]]


def user_rows(fairhub) -> list[list[str]]:
    """``users list`` as rows: email, role, approval, status."""
    return table(fairhub("users", "list"), USERS_HEADER)


def token_rows(fairhub, *args: str) -> list[list[str]]:
    """``tokens list`` as rows: id, owner, name, role, status, valid to."""
    return table(fairhub("tokens", "list", *args), TOKENS_HEADER)


@pytest.fixture
def fairhub_env(fairhub_env):
    """The commands' environment, naming the administrator ``fairhub init`` creates."""
    return {**fairhub_env, "FAIRHUB_ADMIN_EMAIL": STEWARD}


@pytest.fixture
def fairhub(fairhub_cli):
    """Run ``fairhub ARGS`` (stdin from ``input``) on this test's database, migrated first."""
    return fairhub_cli


@pytest.fixture
def api(make_app, fairhub):
    """A test client of an app on the CLI's (already migrated) database."""
    return make_app(create_tables=False).test_client()


def login(api, email: str, password: str):
    return api.post("/api/auth/login", json={"email": email, "password": password})


def create_user(fairhub, email: str = USER, role: str = "data-manager", *extra: str,
                password: str = "correct horse battery") -> None:
    """An approved user, unless ``extra`` says ``--unapproved``."""
    approval = [] if "--unapproved" in extra else ["--approved"]
    result = fairhub("users", "create", email, "--role", role, *approval, *extra,
                     input=password + "\n")
    assert result.exit_code == 0, result.output


def create_token(fairhub, email: str = USER, *extra: str, role: str = "data-manager") -> str:
    result = fairhub("tokens", "create", email, "--name", "cli", "--role", role,
                     "--valid-to", IN_A_MONTH, "--reason", "testing", *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


# fairhub init


def test_init_creates_one_steward_with_a_working_token(fairhub, api):
    result = fairhub("init")
    assert result.exit_code == 0, result.output
    secrets = set(re.findall(r"fh_[A-Za-z0-9_-]+", result.stdout))
    assert len(secrets) == 1
    secret = secrets.pop()
    curl = [line for line in result.stdout.splitlines() if "curl" in line]
    assert len(curl) == 1
    assert f"Authorization: Bearer {secret}" in curl[0]
    assert curl[0].endswith("http://127.0.0.1:5000/api/user")

    me = api.get("/api/user", headers=bearer(secret))
    assert me.status_code == 200, me.data
    assert me.get_json()["email"] == STEWARD
    assert me.get_json()["role"] == "data-steward"
    assert me.get_json()["approved"] is True
    assert user_rows(fairhub) == [[STEWARD, "data-steward", "approved", "active"]]


def test_init_prints_the_url_it_is_given(fairhub):
    result = fairhub("init", "--url", "http://localhost:8080/")
    assert "curl" in result.stdout
    assert result.stdout.count("http://localhost:8080/api/user") == 1


def test_second_init_creates_nothing(fairhub):
    assert fairhub("init").exit_code == 0
    again = fairhub("init")
    assert again.exit_code == 0, again.output
    assert "fh_" not in again.output
    assert "nothing to do" in again.output
    assert len(user_rows(fairhub)) == 1
    assert len(token_rows(fairhub)) == 1


def test_init_on_an_instance_with_users_creates_nothing(fairhub):
    create_user(fairhub)
    result = fairhub("init")
    assert result.exit_code == 0 and "fh_" not in result.output
    assert user_rows(fairhub) == [[USER, "data-manager", "approved", "active"]]


# fairhub users


def test_users_create_reads_the_password_from_stdin(fairhub, api):
    result = fairhub("users", "create", USER, "--role", "observer", "--approved",
                     input="s3cret-enough\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    response = login(api, USER, "s3cret-enough")
    assert response.status_code == 200, response.data
    me = api.get("/api/user", headers=bearer(response.get_json()["access_token"]))
    assert me.get_json()["role"] == "observer"
    assert login(api, USER, "something else").status_code == 401


def test_users_create_with_empty_stdin_prints_a_generated_password(fairhub, api):
    result = fairhub("users", "create", USER, "--role", "standard", "--approved", input="")
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    label, password = line.split(" ", 1)
    assert label == "Password:" and len(password) >= 16
    assert login(api, USER, password).status_code == 200


def test_set_password_with_empty_stdin_prints_a_labelled_password(fairhub, api):
    create_user(fairhub, password="the-first-password")
    result = fairhub("users", "set-password", USER, input="")
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.startswith("Password: ")
    assert login(api, USER, line.removeprefix("Password: ")).status_code == 200
    assert login(api, USER, "the-first-password").status_code == 401


def test_users_create_follows_the_apis_approval_default(fairhub, api):
    result = fairhub("users", "create", USER, input="s3cret-enough\n")
    assert result.exit_code == 0, result.output
    assert f"fairhub users approve {USER}" in result.stderr
    assert user_rows(fairhub) == [[USER, "standard", "unapproved", "active"]]
    refused = login(api, USER, "s3cret-enough")
    assert refused.get_json()["error"]["message"] == "This account is waiting for approval."


def test_users_create_approves_when_auto_approve_is_on(fairhub, monkeypatch):
    monkeypatch.setenv("FAIRHUB_USERS_AUTO_APPROVE", "true")
    assert fairhub("users", "create", USER, input="s3cret-enough\n").exit_code == 0
    kept_waiting = fairhub("users", "create", "bob@example.org", "--unapproved",
                           input="s3cret-enough\n")
    assert kept_waiting.exit_code == 0, kept_waiting.output
    assert user_rows(fairhub) == [["ada@example.org", "standard", "approved", "active"],
                                  ["bob@example.org", "standard", "unapproved", "active"]]


def test_users_create_approved_at_once(fairhub, api):
    result = fairhub("users", "create", USER, "--approved", input="s3cret-enough\n")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert user_rows(fairhub) == [[USER, "standard", "approved", "active"]]
    assert login(api, USER, "s3cret-enough").status_code == 200


def test_users_create_help_tells_the_approval_default(fairhub):
    text = " ".join(fairhub("users", "create", "--help").output.split())
    assert "--approved / --unapproved" in text
    assert "approved only if FAIRHUB_USERS_AUTO_APPROVE is on" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "wizard"], "Role 'wizard' does not exist."),
        (["--role", "Data Manager"], "Role 'Data Manager' does not exist."),
    ],
)
def test_users_create_with_unknown_role_fails_cleanly(fairhub, args, message):
    result = fairhub("users", "create", USER, *args, input="s3cret-enough\n")
    assert_clean_failure(result, message)
    listed = fairhub("users", "list")
    assert listed.stdout == "" and listed.stderr == "No users.\n"


def test_users_create_twice_fails_cleanly(fairhub):
    create_user(fairhub)
    result = fairhub("users", "create", USER.upper(), input="other-password\n")
    assert_clean_failure(result, "already exists")


def test_users_approve_lets_an_unapproved_user_sign_in(fairhub, api):
    create_user(fairhub, USER, "standard", "--unapproved", password="s3cret-enough")
    refused = login(api, USER, "s3cret-enough")
    assert refused.status_code == 401
    assert refused.get_json()["error"]["message"] == "This account is waiting for approval."

    result = fairhub("users", "approve", USER)
    assert result.exit_code == 0, result.output
    assert login(api, USER, "s3cret-enough").status_code == 200
    assert user_rows(fairhub) == [[USER, "standard", "approved", "active"]]


def test_commands_on_unknown_users_and_tokens_fail_cleanly(fairhub):
    for args, message in [
        (["users", "approve", "nobody@example.org"], "No user has the email 'nobody@example.org'."),
        (["users", "archive", "nobody@example.org", "--reason", "gone"], "No user has the email"),
        (["users", "set-password", "nobody@example.org"], "No user has the email"),
        (["tokens", "create", "nobody@example.org", "--name", "x", "--role", "standard",
          "--valid-to", IN_A_MONTH, "--reason", "testing"], "No user has the email"),
        (["tokens", "expire", "999999"], "Token 999999 does not exist."),
    ]:
        assert_clean_failure(fairhub(*args, input="x-password-long\n"), message)


def test_users_archive_expires_tokens_and_blocks_sign_in(fairhub, api):
    create_user(fairhub, password="s3cret-enough")
    secret = create_token(fairhub)
    assert api.get("/api/user", headers=bearer(secret)).status_code == 200
    no_reason = fairhub("users", "archive", USER, "--expire-tokens")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    assert api.get("/api/user", headers=bearer(secret)).status_code == 200

    result = fairhub("users", "archive", USER, "--reason", "left the project", "--expire-tokens")
    assert result.exit_code == 0, result.output
    refused = api.get("/api/user", headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["message"] == "The API token has expired."
    assert [row[4] for row in token_rows(fairhub, "--owner", USER)] == ["expired"]
    blocked = login(api, USER, "s3cret-enough")
    assert blocked.status_code == 401
    assert blocked.get_json()["error"]["message"] == "This account is archived."
    assert user_rows(fairhub) == [[USER, "data-manager", "approved", "archived"]]


# fairhub tokens


def test_tokens_create_prints_only_a_working_secret(fairhub, api):
    create_user(fairhub)
    result = fairhub("tokens", "create", USER, "--name", "nightly", "--role", "observer",
                     "--valid-to", IN_A_MONTH, "--reason", "backups")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and SECRET_LINE.match(lines[0]), result.stdout
    me = api.get("/api/user", headers=bearer(lines[0]))
    assert me.status_code == 200, me.data
    assert me.get_json()["email"] == USER
    assert "tokens/create" not in me.get_json()["permissions"]  # capped by the token's role

    [row] = token_rows(fairhub)
    assert row[1:5] == [USER, "nightly", "observer", "active"]
    assert row[5].startswith(IN_A_MONTH)
    assert me.get_json()["token_id"] == int(row[0])


def test_tokens_create_honours_allowed_ips(fairhub, api):
    create_user(fairhub)
    secret = create_token(fairhub, USER, "--allow-ip", "10.0.0.0/8", "--allow-ip", "2001:db8::/32")

    refused = api.get("/api/user", headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["message"] == "The API token may not be used from 127.0.0.1."
    for address in ("10.1.2.3", "2001:db8::7"):
        allowed = api.get("/api/user", headers=bearer(secret),
                          environ_base={"REMOTE_ADDR": address})
        assert allowed.status_code == 200, (address, allowed.data)
    listed = api.get("/api/tokens", headers=bearer(secret),
                     environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert listed.get_json()["items"][0]["allowed_ips"] == ["10.0.0.0/8", "2001:db8::/32"]


def test_tokens_create_single_use_works_once(fairhub, api):
    create_user(fairhub)
    secret = create_token(fairhub, USER, "--single-use")
    assert api.get("/api/user", headers=bearer(secret)).status_code == 200
    again = api.get("/api/user", headers=bearer(secret))
    assert again.status_code == 401
    assert again.get_json()["error"]["message"] == "The single-use API token has already been used."
    assert [row[4] for row in token_rows(fairhub)] == ["used"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"--valid-to": "2000-01-01"}, "valid_to must be in the future."),
        ({"--valid-to": "next tuesday"}, "is not an ISO date or datetime"),
        ({"--allow-ip": "10.0.0.300/8"}, "allowed_ips are not valid"),
        ({"--allow-ip": "10.0.0.0/33"}, "allowed_ips are not valid"),
        ({"--role": "wizard"}, "Role 'wizard' does not exist."),
        ({"--role": "admin"}, "Role 'admin' grants permissions"),
    ],
)
def test_tokens_create_refuses_bad_options_cleanly(fairhub, changes, message):
    create_user(fairhub)
    options = {"--name": "bad", "--role": "data-manager", "--valid-to": IN_A_MONTH,
               "--reason": "testing", **changes}
    result = fairhub("tokens", "create", USER, *[part for pair in options.items() for part in pair])
    assert_clean_failure(result, message)
    assert token_rows(fairhub) == []


def test_tokens_create_names_the_refused_address(fairhub):
    create_user(fairhub)
    result = fairhub("tokens", "create", USER, "--name", "bad", "--role", "data-manager",
                     "--valid-to", IN_A_MONTH, "--reason", "testing",
                     "--allow-ip", "10.0.0.0/8", "--allow-ip", "not-an-ip")
    assert_clean_failure(result, "allowed_ips are not valid")
    assert result.stderr.splitlines() == [
        "Error: Some allowed_ips are not valid.",
        "  allowed_ips.1: 'not-an-ip' is not an IP address or CIDR range."]


def test_tokens_list_filters_by_owner_and_status(fairhub):
    create_user(fairhub)
    create_user(fairhub, "bob@example.org", "data-manager")
    create_token(fairhub, USER)
    create_token(fairhub, "bob@example.org", "--single-use")
    assert {row[1] for row in token_rows(fairhub)} == {USER, "bob@example.org"}
    assert [row[1] for row in token_rows(fairhub, "--owner", "bob@example.org")] == [
        "bob@example.org"]
    assert [row[4] for row in token_rows(fairhub, "--status", "active")] == ["active", "active"]
    expired = fairhub("tokens", "list", "--status", "expired")
    assert expired.stdout == "" and expired.stderr == "No tokens.\n"


def test_tokens_expire_makes_the_token_401(fairhub, api):
    create_user(fairhub)
    secret = create_token(fairhub)
    [row] = token_rows(fairhub)
    assert api.get("/api/user", headers=bearer(secret)).status_code == 200

    result = fairhub("tokens", "expire", row[0])
    assert result.exit_code == 0, result.output
    refused = api.get("/api/user", headers=bearer(secret))
    assert refused.status_code == 401
    assert refused.get_json()["error"]["message"] == "The API token has expired."
    assert token_rows(fairhub)[0][4] == "expired"
    assert_clean_failure(fairhub("tokens", "expire", row[0]), "it cannot be changed any more")
