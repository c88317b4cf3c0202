-- 0001_init: baseline core tables (vehicles, lots, sale_events, images) and extensions.
-- Purpose: the skeleton every later migration builds on. Keys, constraints, indexes and
--   the feed's domain columns come in 0002..0009 so each step stays small and reviewable.
-- Rollback: DROP TABLE public.images, public.sale_events, public.lots, public.vehicles;
--   (extensions are shared with other databases objects; leave them).
-- Extensions: the devstack pre-creates them as superuser (template1 and vinops); IF NOT EXISTS
--   lets a non-superuser owner run this file unchanged there.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;

CREATE TABLE public.vehicles (
    vin        text NOT NULL,
    vin_raw    text NOT NULL,
    year       smallint,
    make       text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.lots (
    id                   bigserial NOT NULL,
    vin                  text,
    vin_raw              text,
    sale_date            date,
    auction_datetime_utc timestamptz,
    status               text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.sale_events (
    id                   bigserial NOT NULL,
    lot_id               bigint NOT NULL,
    vin                  text,
    sale_date            date NOT NULL,
    auction_datetime_utc timestamptz,
    status               text,
    final_bid            numeric(14, 2),
    currency_code        text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE public.images (
    id          bigserial NOT NULL,
    lot_id      bigint NOT NULL,
    vin         text,
    kind        text NOT NULL,
    url         text NOT NULL,
    storage_key text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
