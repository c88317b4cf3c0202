-- 0006_vin_normalized_ck_uidx: the VIN rule in SQL (supersedes 0005) + VIN format CHECK.
-- Purpose: normalize_vin(), vin_check_digit(), vin_check_digit_ok() must equal feed/vin.py for
--   every input (tests/integration/test_vin_sql.py keeps them equal). Case folding and
--   separator removal are spelled out on ASCII on purpose: upper() and \s depend on locale.
--   Look-alikes are mapped in place (I->1, O->0, Q->0), never deleted.
--   vehicles.vin holds the normalised VIN: its PRIMARY KEY (0002) is the unique index the
--   passport planned as "vin_normalized UNIQUE", so no second index is added.
--   vehicles.check_digit_ok is a flag, not a rejection (mandatory only for North America).
-- Rollback: ALTER TABLE public.vehicles DROP CONSTRAINT vehicles_vin_format_ck,
--   DROP COLUMN check_digit_ok; DROP FUNCTION public.vin_check_digit_ok(text),
--   public.vin_check_digit(text), public.normalize_vin(text);
CREATE FUNCTION public.normalize_vin(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE WHEN c ~ '^[A-HJ-NPR-Z0-9]{11,17}$' THEN c END
    FROM (SELECT translate(translate(translate($1,
            'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'),
            E' \t\r\n-', ''), 'IOQ', '100') AS c) s
$$;
COMMENT ON FUNCTION public.normalize_vin(text) IS
    'Canonical VIN or NULL: ASCII upper-case, drop space/tab/CR/LF/dash, map I->1 O->0 Q->0 in place, '
    'valid iff ^[A-HJ-NPR-Z0-9]{11,17}$. Equal to feed.vin.normalize_vin.';

-- ISO 3779 check digit. Values are looked up by position in the alphabet (array subscript),
-- so an invalid character yields NULL instead of a cast error even if evaluated early.
CREATE FUNCTION public.vin_check_digit(text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT CASE s.r WHEN 10 THEN 'X' ELSE s.r::text END
    FROM (
        SELECT sum(('{0,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,1,2,3,4,5,7,9,2,3,4,5,6,7,8,9}'::int[])
                   [strpos('0123456789ABCDEFGHJKLMNPRSTUVWXYZ', substr($1, p.i::int, 1))]
                   * p.w) % 11 AS r
        FROM unnest('{8,7,6,5,4,3,2,10,0,9,8,7,6,5,4,3,2}'::int[]) WITH ORDINALITY AS p(w, i)
        WHERE $1 ~ '^[A-HJ-NPR-Z0-9]{17}$'
    ) s
$$;
COMMENT ON FUNCTION public.vin_check_digit(text) IS
    'Expected 9th character (0-9 or X) of a valid 17-character VIN, else NULL. Equal to feed.vin.check_digit.';

CREATE FUNCTION public.vin_check_digit_ok(text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT substr($1, 9, 1) = public.vin_check_digit($1)
$$;
COMMENT ON FUNCTION public.vin_check_digit_ok(text) IS
    'True/false for a valid 17-character VIN, NULL otherwise. Equal to feed.vin.check_digit_ok.';

ALTER TABLE public.vehicles
    ADD CONSTRAINT vehicles_vin_format_ck CHECK (vin ~ '^[A-HJ-NPR-Z0-9]{11,17}$'),
    ADD COLUMN check_digit_ok boolean;
