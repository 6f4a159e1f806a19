-- +goose Up
-- People. Local passwords are argon2id hashes; SSO users have an external id.
CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL,
    name          text NOT NULL DEFAULT '',
    email         text NOT NULL DEFAULT '',
    password_hash text NOT NULL DEFAULT '',
    is_admin      boolean NOT NULL DEFAULT false,
    blocked       boolean NOT NULL DEFAULT false,
    oidc_issuer   text,
    oidc_subject  text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_oidc_key ON users (oidc_issuer, oidc_subject) WHERE oidc_subject IS NOT NULL;

-- Groups nest; a top-level group (parent_id NULL) is a Terraform namespace.
-- full_path is maintained by the application (the parent's full_path + '/' + path).
CREATE TABLE groups (
    id          bigserial PRIMARY KEY,
    parent_id   bigint REFERENCES groups (id) ON DELETE CASCADE,
    path        text NOT NULL,
    name        text NOT NULL,
    full_path   text NOT NULL,
    description text NOT NULL DEFAULT '',
    visibility  text NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'internal', 'private')),
    -- GitLab's package settings for Terraform modules in this group's tree.
    terraform_module_duplicates_allowed         boolean NOT NULL DEFAULT false,
    terraform_module_duplicate_exception_regex  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_full_path_key ON groups (lower(full_path));
CREATE UNIQUE INDEX groups_sibling_path_key ON groups (coalesce(parent_id, 0), lower(path));
CREATE INDEX groups_parent_idx ON groups (parent_id);

CREATE TABLE projects (
    id          bigserial PRIMARY KEY,
    group_id    bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    path        text NOT NULL,
    name        text NOT NULL,
    full_path   text NOT NULL,
    description text NOT NULL DEFAULT '',
    visibility  text NOT NULL DEFAULT 'private' CHECK (visibility IN ('public', 'internal', 'private')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX projects_full_path_key ON projects (lower(full_path));
CREATE INDEX projects_group_idx ON projects (group_id);

-- Memberships: a role on a group (inherited by its subgroups and projects)
-- or on a project. access_level: 10 guest, 20 reporter, 30 developer,
-- 40 maintainer, 50 owner.
CREATE TABLE members (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id     bigint REFERENCES groups (id) ON DELETE CASCADE,
    project_id   bigint REFERENCES projects (id) ON DELETE CASCADE,
    access_level integer NOT NULL CHECK (access_level IN (10, 20, 30, 40, 50)),
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((group_id IS NULL) <> (project_id IS NULL))
);
CREATE UNIQUE INDEX members_group_user_key ON members (group_id, user_id) WHERE group_id IS NOT NULL;
CREATE UNIQUE INDEX members_project_user_key ON members (project_id, user_id) WHERE project_id IS NOT NULL;
CREATE INDEX members_user_idx ON members (user_id);

-- Terrareg user groups: named after SSO groups; grant MODIFY (maintainer)
-- or FULL (owner) on top-level groups (namespaces).
CREATE TABLE user_groups (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    site_admin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX user_groups_name_key ON user_groups (lower(name));

CREATE TABLE user_group_members (
    user_group_id bigint NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (user_group_id, user_id)
);
CREATE INDEX user_group_members_user_idx ON user_group_members (user_id);

CREATE TABLE user_group_permissions (
    user_group_id bigint NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    group_id      bigint NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    permission    text NOT NULL CHECK (permission IN ('MODIFY', 'FULL')),
    PRIMARY KEY (user_group_id, group_id)
);

-- Personal access tokens. Only a SHA-256 of the token is stored (tokens are
-- 256-bit random, so a fast hash is the right tool); the prefix is kept for
-- display.
CREATE TABLE personal_access_tokens (
    id           bigserial PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text NOT NULL,
    token_hash   bytea NOT NULL,
    token_prefix text NOT NULL,
    scopes       text[] NOT NULL,
    expires_at   timestamptz,
    revoked      boolean NOT NULL DEFAULT false,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX personal_access_tokens_hash_key ON personal_access_tokens (token_hash);
CREATE INDEX personal_access_tokens_user_idx ON personal_access_tokens (user_id);

CREATE TABLE deploy_tokens (
    id           bigserial PRIMARY KEY,
    group_id     bigint REFERENCES groups (id) ON DELETE CASCADE,
    project_id   bigint REFERENCES projects (id) ON DELETE CASCADE,
    name         text NOT NULL,
    username     text NOT NULL,
    token_hash   bytea NOT NULL,
    token_prefix text NOT NULL,
    scopes       text[] NOT NULL,
    expires_at   timestamptz,
    revoked      boolean NOT NULL DEFAULT false,
    last_used_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((group_id IS NULL) <> (project_id IS NULL))
);
CREATE UNIQUE INDEX deploy_tokens_hash_key ON deploy_tokens (token_hash);
CREATE INDEX deploy_tokens_group_idx ON deploy_tokens (group_id);
CREATE INDEX deploy_tokens_project_idx ON deploy_tokens (project_id);

-- A project trusts a CI identity provider: OIDC ID tokens from issuer with
-- audience, whose claims meet every condition, act as this project's CI job.
CREATE TABLE job_trust_rules (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    issuer      text NOT NULL,
    audience    text NOT NULL,
    conditions  jsonb NOT NULL DEFAULT '[]',
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_trust_rules_issuer_idx ON job_trust_rules (issuer);
CREATE INDEX job_trust_rules_project_idx ON job_trust_rules (project_id);

-- Every change to users, groups, projects, memberships, tokens and trust rules.
CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    actor_id    bigint,
    actor_name  text NOT NULL,
    action      text NOT NULL,
    object_type text NOT NULL,
    object_id   text NOT NULL,
    old_value   jsonb,
    new_value   jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_created_idx ON audit_events (created_at DESC);
CREATE INDEX audit_events_object_idx ON audit_events (object_type, object_id);

-- Membership changes are announced so every replica's enforcer updates
-- itself incrementally: members row by row (the payload carries the row),
-- Terrareg user groups (few, small) as a whole.
-- +goose StatementBegin
CREATE FUNCTION notify_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('cairn_members', json_build_object('op', 'del', 'user_id', OLD.user_id,
            'group_id', OLD.group_id, 'project_id', OLD.project_id, 'access_level', OLD.access_level)::text);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('cairn_members', json_build_object('op', 'add', 'user_id', NEW.user_id,
            'group_id', NEW.group_id, 'project_id', NEW.project_id, 'access_level', NEW.access_level)::text);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER members_notify AFTER INSERT OR UPDATE OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION notify_member();

-- +goose StatementBegin
CREATE FUNCTION notify_user_groups() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cairn_user_groups', '');
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER user_group_members_notify AFTER INSERT OR UPDATE OR DELETE ON user_group_members
    FOR EACH STATEMENT EXECUTE FUNCTION notify_user_groups();
CREATE TRIGGER user_group_permissions_notify AFTER INSERT OR UPDATE OR DELETE ON user_group_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION notify_user_groups();
CREATE TRIGGER user_groups_notify AFTER DELETE ON user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION notify_user_groups();

-- +goose Down
DROP TABLE audit_events, job_trust_rules, deploy_tokens, personal_access_tokens,
    user_group_permissions, user_group_members, user_groups, members, projects, groups, users;
DROP FUNCTION notify_member, notify_user_groups;
