INSERT INTO public.vehicles AS v (vin, vin_raw, check_digit_ok, year, make, model_group, model_detail, trim, body_style, engine, drive, transmission, fuel_type, cylinders, color, vehicle_type,
                                  source_updated_at, source_digest)
SELECT vin_normalized, veh_vin_raw, check_digit_ok, year, make, model_group, model_detail, trim, body_style, engine, drive, transmission, fuel_type, cylinders, color, vehicle_type, source_updated_at,
       version
FROM vinops_batch WHERE veh_win ORDER BY vin_normalized
ON CONFLICT (vin) DO UPDATE SET
  vin_raw = EXCLUDED.vin_raw,
  year = EXCLUDED.year, make = EXCLUDED.make, model_group = EXCLUDED.model_group, model_detail = EXCLUDED.model_detail, trim = EXCLUDED.trim, body_style = EXCLUDED.body_style, engine = EXCLUDED.engine, drive = EXCLUDED.drive, transmission = EXCLUDED.transmission, fuel_type = EXCLUDED.fuel_type, cylinders = EXCLUDED.cylinders, color = EXCLUDED.color, vehicle_type = EXCLUDED.vehicle_type,
  check_digit_ok = EXCLUDED.check_digit_ok,
  source_updated_at = EXCLUDED.source_updated_at,
  source_digest = EXCLUDED.source_digest,
  updated_at = CASE WHEN ROW(v.vin_raw, v.check_digit_ok, v.year, v.make, v.model_group, v.model_detail, v.trim, v.body_style, v.engine, v.drive, v.transmission, v.fuel_type, v.cylinders, v.color, v.vehicle_type)
                         IS NOT DISTINCT FROM
                         ROW(EXCLUDED.vin_raw, EXCLUDED.check_digit_ok, EXCLUDED.year, EXCLUDED.make, EXCLUDED.model_group, EXCLUDED.model_detail, EXCLUDED.trim, EXCLUDED.body_style, EXCLUDED.engine, EXCLUDED.drive, EXCLUDED.transmission, EXCLUDED.fuel_type, EXCLUDED.cylinders, EXCLUDED.color, EXCLUDED.vehicle_type)
                    THEN v.updated_at ELSE now() END
WHERE v.source_updated_at IS NULL OR (v.source_updated_at, COALESCE(v.source_digest, ''::bytea)) < (EXCLUDED.source_updated_at, EXCLUDED.source_digest)
