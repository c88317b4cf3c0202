-- 0027_lot_version_deltas: an older version of a lot keeps only what the next version changed.
-- Purpose: 0026 stored every value of every version (data: ~690 of the ~1,170 bytes a version
--   cost, and incompressible: URLs, names, times), so a lot whose bid moved ten times held its
--   values eleven times. Now only a lot's newest version holds every value; an older version's
--   data holds, at the positions of the fields the next version changed (that version's
--   `changed`), the values it had there, and NULL elsewhere. A version's values in full are its
--   successor's values with its own overlaid, newest first: public.lot_version_values(lot,
--   valid_from, version) computes them, public.v_lot_versions shows them. The consumer keeps
--   this form in each batch (a version that stops being the newest is thinned in the same
--   UPDATE that sets its valid_to), so any arrival order still gives the same rows.
--   Existing rows are thinned in place, then every version's values are computed again and
--   compared with what they were: one difference fails the migration, which changes nothing.
-- Rollback: UPDATE public.lot_versions v SET data = public.lot_version_values(v.lot_external_id,
--   v.valid_from, v.version) (one statement: it reads its own snapshot); recreate the 0026
--   view; DROP FUNCTION public.lot_version_values(text, timestamptz, bytea).

-- Newest first: the newest version's data is whole; each older one overlays the fields its
-- successor changed. A version's history above it is short (a lot changes a few times a day),
-- and the primary key gives those rows in order. NULL for a version that is not stored.
CREATE FUNCTION public.lot_version_values(p_lot text, p_valid_from timestamptz, p_version bytea)
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
  fields constant text[] := public.lot_history_fields();
  acc text[];
  above text[];
  last_from timestamptz;
  last_version bytea;
  r record;
  f text;
  i int;
BEGIN
  FOR r IN SELECT v.valid_from, v.version, v.data, v.changed FROM public.lot_versions v
           WHERE v.lot_external_id = p_lot AND (v.valid_from, v.version) >= (p_valid_from, p_version)
           ORDER BY v.valid_from DESC, v.version DESC
  LOOP
    IF acc IS NULL THEN
      acc := r.data;
    ELSIF above IS NOT NULL THEN
      FOREACH f IN ARRAY above LOOP
        i := array_position(fields, f);
        IF i IS NOT NULL THEN
          acc[i] := r.data[i];
        END IF;
      END LOOP;
    END IF;
    above := r.changed;
    last_from := r.valid_from;
    last_version := r.version;
  END LOOP;
  IF last_from IS DISTINCT FROM p_valid_from OR last_version IS DISTINCT FROM p_version THEN
    RETURN NULL;
  END IF;
  RETURN acc;
END
$$;

CREATE TEMPORARY TABLE lot_versions_0026 ON COMMIT DROP AS
SELECT lot_external_id, valid_from, version, data FROM public.lot_versions;

UPDATE public.lot_versions v
SET data = ARRAY(SELECT CASE WHEN u.f = ANY (n.next_changed) THEN u.d END
                 FROM unnest(public.lot_history_fields(), v.data) WITH ORDINALITY AS u(f, d, i)
                 ORDER BY u.i)
FROM (SELECT w.ctid AS at,
             lead(w.changed) OVER o AS next_changed,
             lead(w.valid_from) OVER o AS next_from
      FROM public.lot_versions w
      WINDOW o AS (PARTITION BY w.lot_external_id ORDER BY w.valid_from, w.version)) n
WHERE v.ctid = n.at AND n.next_from IS NOT NULL;

DO $$
DECLARE
  differing bigint;
BEGIN
  SELECT count(*) INTO differing FROM lot_versions_0026 b
  WHERE public.lot_version_values(b.lot_external_id, b.valid_from, b.version)
        IS DISTINCT FROM b.data;
  IF differing > 0 THEN
    RAISE EXCEPTION '0027: % version(s) would not read back their values; nothing changed',
      differing;
  END IF;
END
$$;

CREATE OR REPLACE VIEW public.v_lot_versions AS
SELECT v.lot_external_id, v.valid_from, v.valid_to, v.version, v.vin, v.changed,
       (SELECT jsonb_object_agg(u.f, u.value)
        FROM unnest(public.lot_history_fields(),
                    public.lot_version_values(v.lot_external_id, v.valid_from, v.version))
          AS u(f, value)
        WHERE u.value IS NOT NULL) AS data,
       v.file_id, v.row_no, v.content_digest, v.recorded_at
FROM public.lot_versions v;

GRANT EXECUTE ON FUNCTION public.lot_version_values(text, timestamptz, bytea)
    TO etl_rw, app_ro, admin;
