-- Token ids revoked by an admin, kept until the token would have expired anyway.
CREATE TABLE revoked_tokens (
    token_id   uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
