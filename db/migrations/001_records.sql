-- The records schema: users and what authentication needs (revoked tokens,
-- login failures), patients owned by the user who created them, the shared
-- doctors list, and patient-doctor mappings.  The constraints restate the
-- rules of API.md so that they hold even if a handler is wrong, and every
-- list, lookup, sort and filter the API offers has an index.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                text NOT NULL
                        CHECK (char_length(name) BETWEEN 1 AND 100),
    email               text NOT NULL
                        CHECK (char_length(email) BETWEEN 3 AND 254
                               AND email = lower(email)),
    password_hash       text NOT NULL CHECK (password_hash LIKE '$2b$%'),
    -- Tokens issued at or before this second are refused (logout-all,
    -- password change), except keep_jti: the token that changed the
    -- password stays valid.
    tokens_valid_after  bigint NOT NULL DEFAULT 0,
    keep_jti            text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Single tokens revoked by logout, kept until they would have expired.
CREATE TABLE revoked_tokens (
    jti         text PRIMARY KEY CHECK (char_length(jti) BETWEEN 1 AND 64),
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
CREATE INDEX revoked_tokens_user_id ON revoked_tokens (user_id);

-- Failed logins, for the three throttle windows of API.md.  The counters
-- live here so that every pool sees the same ones.
CREATE TABLE login_failures (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       text NOT NULL CHECK (char_length(email) <= 254),
    address     text NOT NULL CHECK (char_length(address) <= 64),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);
CREATE INDEX login_failures_address_at ON login_failures (address, at);
CREATE INDEX login_failures_at ON login_failures (at);

CREATE TABLE patients (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    age         integer CHECK (age BETWEEN 0 AND 150),
    gender      text CHECK (gender IN ('male', 'female', 'other', 'unknown')),
    address     text CHECK (char_length(address) <= 500),
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- The target of mappings' (patient_id, user_id) foreign key.
    UNIQUE (id, user_id)
);
CREATE INDEX patients_user_id_id ON patients (user_id, id);
CREATE INDEX patients_user_id_name ON patients (user_id, name, id);
CREATE INDEX patients_user_id_created_at ON patients (user_id, created_at, id);
CREATE INDEX patients_user_id_updated_at ON patients (user_id, updated_at, id);
CREATE INDEX patients_user_id_name_trgm
    ON patients USING gin (user_id, name gin_trgm_ops);

CREATE TABLE doctors (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    specialization  text NOT NULL
                    CHECK (char_length(specialization) BETWEEN 1 AND 100),
    contact_info    text CHECK (char_length(contact_info) <= 200),
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX doctors_name ON doctors (name, id);
CREATE INDEX doctors_created_at ON doctors (created_at, id);
CREATE INDEX doctors_updated_at ON doctors (updated_at, id);
CREATE INDEX doctors_specialization ON doctors (lower(specialization), id);
CREATE INDEX doctors_name_trgm ON doctors USING gin (name gin_trgm_ops);

-- A mapping carries its owner (the patient's), so that listing a user's
-- mappings is an index range scan; the composite foreign key keeps it equal
-- to the patient's owner.
CREATE TABLE patient_doctors (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id  bigint NOT NULL,
    user_id     bigint NOT NULL,
    doctor_id   bigint NOT NULL REFERENCES doctors (id) ON DELETE RESTRICT,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (patient_id, doctor_id),
    FOREIGN KEY (patient_id, user_id)
        REFERENCES patients (id, user_id) ON DELETE CASCADE
);
CREATE INDEX patient_doctors_user_id_id ON patient_doctors (user_id, id);
CREATE INDEX patient_doctors_user_id_created_at
    ON patient_doctors (user_id, created_at, id);
CREATE INDEX patient_doctors_user_id_patient_id
    ON patient_doctors (user_id, patient_id, id);
CREATE INDEX patient_doctors_user_id_doctor_id
    ON patient_doctors (user_id, doctor_id, id);
-- The doctor side of the foreign key: deleting a doctor checks it.
CREATE INDEX patient_doctors_doctor_id ON patient_doctors (doctor_id);
