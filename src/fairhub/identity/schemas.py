"""Request and response schemas of the identity routes."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

import marshmallow as ma
from marshmallow import fields, validate

from fairhub.api import JsonBoolean, PageArgsSchema, Strings, Timestamp, id_field
from fairhub.identity.service.passwords import MAX_LENGTH, MIN_LENGTH
from fairhub.identity.service.tokens import STATUSES


class FullMatch(validate.Regexp):
    """A pattern the whole value must match: ``$`` alone would let a trailing newline in.
    The pattern stays plain ``^...$`` for the OpenAPI document."""

    def __call__(self, value: str) -> str:
        if self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


CODE = FullMatch(r"^[A-Za-z0-9_-]{1,64}$", error="Use 1 to 64 letters, digits, '_' or '-'.")
ROLE_CODE = FullMatch(r"^[a-z][a-z0-9-]{0,63}$",
                      error="Use a lower-case letter, then letters, digits or '-'.")
# The policy is checked by the service (passwords.check_policy), for the API and the command
# line alike; the schema only documents it.
PASSWORD_DOC = {"minLength": MIN_LENGTH, "maxLength": MAX_LENGTH,
                "description": f"{MIN_LENGTH} to {MAX_LENGTH} characters."}


def text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


def required_text(max_length: int, **kwargs) -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1, max=max_length),
                         **kwargs)


class UserRefSchema(ma.Schema):
    uuid = fields.String(required=True, validate=validate.Length(max=36))


class GroupRefSchema(ma.Schema):
    code = fields.String()
    name = fields.String()


class UserBriefSchema(ma.Schema):
    uuid = fields.String()
    email = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)


class UserSchema(ma.Schema):
    uuid = fields.String()
    email = fields.String()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    role = fields.String()
    approved = fields.Boolean()
    archived = fields.Boolean()
    archived_reason = fields.String(allow_none=True)
    searchable = fields.Boolean()
    groups = fields.List(fields.Nested(GroupRefSchema))
    created_at = Timestamp()
    updated_at = Timestamp()


class MeSchema(UserSchema):
    permissions = Strings(metadata={
        "description": "What this request may do: the role's permissions, capped by the "
                       "token's role when signed in with an API token."})
    authenticated_via = fields.String(metadata={"description": "`session` or `token`."})
    token_id = fields.Integer(allow_none=True)


class UserCreateSchema(ma.Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    first_name = text(100, allow_none=True)
    last_name = text(100, allow_none=True)
    role = fields.String(validate=ROLE_CODE)
    password = fields.String(load_only=True, metadata=PASSWORD_DOC)
    approved = JsonBoolean()
    searchable = JsonBoolean()


class UserUpdateSchema(ma.Schema):
    email = fields.Email(validate=validate.Length(max=254))
    first_name = text(100, allow_none=True)
    last_name = text(100, allow_none=True)
    role = fields.String(validate=ROLE_CODE)
    password = fields.String(load_only=True, metadata=PASSWORD_DOC)
    searchable = JsonBoolean()


class MeUpdateSchema(ma.Schema):
    first_name = text(100, allow_none=True)
    last_name = text(100, allow_none=True)
    searchable = JsonBoolean()


class PasswordChangeSchema(ma.Schema):
    current_password = fields.String(required=True, load_only=True,
                                     validate=validate.Length(max=MAX_LENGTH))
    new_password = fields.String(required=True, load_only=True, metadata=PASSWORD_DOC)


class UserQuerySchema(PageArgsSchema):
    q = text(200, metadata={"description": "Part of the name or email."})
    role = fields.String(validate=validate.Length(max=64))
    approved = fields.Boolean()
    archived = fields.Boolean()


class ArchiveSchema(ma.Schema):
    reason = required_text(1000)
    expire_tokens = JsonBoolean(load_default=False,
                                   metadata={"description": "Also expire the user's tokens."})


class GroupSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    members = fields.List(fields.Nested(UserBriefSchema))
    created_at = Timestamp()
    updated_at = Timestamp()


class GroupCreateSchema(ma.Schema):
    code = fields.String(required=True, validate=CODE)
    name = required_text(200)
    description = text(2000, allow_none=True)
    members = fields.List(fields.Nested(UserRefSchema), validate=validate.Length(max=1000))


class GroupUpdateSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = text(2000, allow_none=True)
    members = fields.List(fields.Nested(UserRefSchema), validate=validate.Length(max=1000))


class UsersSchema(ma.Schema):
    users = fields.List(fields.Nested(UserRefSchema), required=True,
                        validate=validate.Length(min=1, max=1000))


class SearchQuerySchema(PageArgsSchema):
    q = text(200)


class PermissionSchema(ma.Schema):
    name = fields.String()
    description = fields.String()
    plugin = fields.String()
    default_roles = fields.List(fields.String())


class RoleSchema(ma.Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    based_on = fields.String(allow_none=True)
    managed = fields.Boolean()
    permissions = fields.List(fields.String())
    user_count = fields.Integer()
    approved_user_count = fields.Integer()
    created_at = Timestamp(allow_none=True)
    updated_at = Timestamp(allow_none=True)


class RoleCreateSchema(ma.Schema):
    code = fields.String(required=True, validate=ROLE_CODE)
    name = required_text(200)
    description = text(2000, allow_none=True)
    based_on = fields.String(required=True, validate=ROLE_CODE)
    permissions = fields.List(fields.String(validate=validate.Length(max=100)),
                              validate=validate.Length(max=1000))


class RoleUpdateSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    description = text(2000, allow_none=True)
    permissions = fields.List(fields.String(validate=validate.Length(max=100)),
                              validate=validate.Length(max=1000))


class LoginSchema(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=MAX_LENGTH))


class AccessTokenSchema(ma.Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "Seconds until the token expires."})


class AboutSchema(ma.Schema):
    api_url = fields.String()
    docs_url = fields.String()
    version = fields.String()
    user = fields.Nested(UserSchema, allow_none=True)
    authenticated_via = fields.String(metadata={"description": "`session`, `token` or "
                                                               "`anonymous`."})
    session_id = fields.Integer(allow_none=True)
    token_id = fields.Integer(allow_none=True)
    expires_at = Timestamp(allow_none=True, metadata={
        "description": "When this request's credential stops working: the session access "
                       "token's expiry, or the API token's `valid_to`; null for anonymous."})


class ValidTo(Timestamp):
    """A datetime, or a date meaning the end of that day (UTC)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and len(value) == 10:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise self.make_error("invalid", input=value, obj_type="datetime") from None
            return datetime.combine(day, time.max, tzinfo=timezone.utc)
        return super()._deserialize(value, attr, data, **kwargs)


class TokenCreateSchema(ma.Schema):
    name = required_text(100)
    role = fields.String(required=True, validate=ROLE_CODE)
    valid_to = ValidTo(required=True, metadata={
        "description": "Last moment of validity; a date means the end of that day (UTC). "
                       "Capped by the server's TOKENS_MAX_LIFETIME_DAYS."})
    allowed_ips = fields.List(fields.String(validate=validate.Length(max=64)),
                              load_default=list, validate=validate.Length(max=50))
    single_use = JsonBoolean(load_default=False)
    reason = required_text(1000)


class TokenSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()
    reason = fields.String()
    valid_to = Timestamp()
    allowed_ips = fields.List(fields.String())
    single_use = fields.Boolean()
    status = fields.Method("get_status", metadata={"enum": list(STATUSES)})
    owner = fields.Nested(UserBriefSchema)
    created_at = Timestamp()
    last_used_at = Timestamp(allow_none=True)
    last_used_ip = fields.String(allow_none=True)
    use_count = fields.Integer()

    def get_status(self, token) -> str:
        return token.status(datetime.now(timezone.utc))


class TokenCreatedSchema(TokenSchema):
    secret = fields.String(metadata={"description": "The token itself, shown only this once."})


class TokenQuerySchema(PageArgsSchema):
    owner = text(254, metadata={"description": "Owner's email or uuid."})
    name = text(100, metadata={"description": "Part of the token's name."})
    status = fields.String(validate=validate.OneOf(STATUSES))


class AuditEventSchema(ma.Schema):
    id = fields.Integer()
    type = fields.String()
    action = fields.String()
    actor = fields.Method("get_actor")
    token_id = fields.Integer(allow_none=True)
    target = fields.Method("get_target")
    details = fields.Dict()
    ip = fields.String(allow_none=True)
    created_at = Timestamp()

    def get_actor(self, event) -> dict | None:
        if event.actor_uuid is None and event.actor_email is None:
            return None
        return {"uuid": event.actor_uuid, "email": event.actor_email}

    def get_target(self, event) -> dict | None:
        if event.target_type is None:
            return None
        return {"type": event.target_type, "code": event.target_code}


class AuditQuerySchema(PageArgsSchema):
    type = text(64)
    action = text(64)
    actor = text(254, metadata={"description": "Actor's uuid or email."})
    target_type = text(64)
    target_code = text(200)
    token_id = id_field()
    since = Timestamp(metadata={"description": "Events at or after this time."})
    until = Timestamp(metadata={"description": "Events before this time."})
