INSERT INTO public.vehicles AS v (vin, vin_raw, check_digit_ok, year, make, model_group, model_detail, trim, body_style, engine, drive, transmission, fuel_type, cylinders, color, vehicle_type,
                                  source_updated_at, source_digest)
SELECT vin_normalized, veh_vin_raw, check_digit_ok, year, make, model_group, model_detail, trim, body_style, engine, drive, transmission, fuel_type, cylinders, color, vehicle_type, source_updated_at,
       version
FROM vinops_batch WHERE veh_win ORDER BY vin_normalized
ON CONFLICT (vin) DO UPDATE SET
  year = COALESCE(EXCLUDED.year, v.year), make = COALESCE(EXCLUDED.make, v.make), model_group = COALESCE(EXCLUDED.model_group, v.model_group), model_detail = COALESCE(EXCLUDED.model_detail, v.model_detail), trim = COALESCE(EXCLUDED.trim, v.trim), body_style = COALESCE(EXCLUDED.body_style, v.body_style), engine = COALESCE(EXCLUDED.engine, v.engine), drive = COALESCE(EXCLUDED.drive, v.drive), transmission = COALESCE(EXCLUDED.transmission, v.transmission), fuel_type = COALESCE(EXCLUDED.fuel_type, v.fuel_type), cylinders = COALESCE(EXCLUDED.cylinders, v.cylinders), color = COALESCE(EXCLUDED.color, v.color), vehicle_type = COALESCE(EXCLUDED.vehicle_type, v.vehicle_type),
  check_digit_ok = EXCLUDED.check_digit_ok,
  source_updated_at = EXCLUDED.source_updated_at,
  source_digest = EXCLUDED.source_digest,
  updated_at = now()
WHERE v.source_updated_at IS NULL OR (v.source_updated_at, COALESCE(v.source_digest, ''::bytea)) < (EXCLUDED.source_updated_at, EXCLUDED.source_digest)
