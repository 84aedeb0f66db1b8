-- One row per message in a `<queue>.dlq`: the queue is where the message is parked, this row is
-- what operators search, group and act on. An open row (status 'dead') has exactly one message in
-- its queue's `.dlq`, which carries the row's id in its `x-dead-letter-id` header.
CREATE TABLE dead_letter_records (
    id                uuid PRIMARY KEY,
    seq               bigserial   NOT NULL UNIQUE,
    queue             text        NOT NULL,
    exchange          text        NOT NULL DEFAULT '',
    routing_key       text        NOT NULL DEFAULT '',
    message_id        text        NOT NULL DEFAULT '',
    -- message_id, or a digest of the body when the message has none: one open row per message.
    message_key       text        NOT NULL,
    event_type        text        NOT NULL DEFAULT '',
    event_version     integer,
    tenant_id         uuid,
    aggregate_type    text        NOT NULL DEFAULT '',
    aggregate_id      uuid,
    error_class       text        NOT NULL,
    reason            text        NOT NULL,
    -- The reason with ids and numbers taken out: what dead letters of one cause share.
    cause             text        NOT NULL,
    attempts          integer     NOT NULL,
    first_failure_at  timestamptz NOT NULL,
    last_failure_at   timestamptz NOT NULL,
    dead_lettered_at  timestamptz NOT NULL DEFAULT now(),
    headers           jsonb       NOT NULL DEFAULT '{}',
    body              bytea       NOT NULL,
    -- The body as JSON when it is a JSON object (an envelope, or what is left of one).
    envelope          jsonb,
    replays           integer     NOT NULL DEFAULT 0,
    status            text        NOT NULL DEFAULT 'dead'
                      CHECK (status IN ('dead', 'replayed', 'discarded')),
    closed_at         timestamptz,
    closed_by         text,
    close_reason      text,
    action_id         bigint
);

CREATE UNIQUE INDEX dead_letter_records_one_open_per_message
    ON dead_letter_records (queue, message_key) WHERE status = 'dead';
CREATE INDEX dead_letter_records_open_by_cause
    ON dead_letter_records (error_class, cause) WHERE status = 'dead';
CREATE INDEX dead_letter_records_by_tenant ON dead_letter_records (tenant_id, seq);
CREATE INDEX dead_letter_records_by_aggregate ON dead_letter_records (aggregate_id, event_type);
CREATE INDEX dead_letter_records_closed ON dead_letter_records (closed_at) WHERE status <> 'dead';

-- Every replay and discard: who, when, what selection, how many, why. Kept when records go.
CREATE TABLE dead_letter_actions (
    id          bigserial PRIMARY KEY,
    action      text        NOT NULL CHECK (action IN ('replay', 'discard', 'reconcile')),
    actor       text        NOT NULL,
    actor_tenant_id uuid,
    via         text        NOT NULL CHECK (via IN ('api', 'cli')),
    selection   jsonb       NOT NULL,
    reason      text,
    rate_per_s  double precision,
    selected    integer     NOT NULL DEFAULT 0,
    done        integer     NOT NULL DEFAULT 0,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- Running totals for the replay and discard counters: monotonic, whichever process acted.
CREATE TABLE dead_letter_totals (
    queue  text   NOT NULL,
    action text   NOT NULL,
    total  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (queue, action)
);
