// The PostgreSQL (and YugabyteDB) capture readiness check: what commands wire in behind the
// engine-neutral CaptureReadinessChecker of src/engines/capture-readiness.ts.

export {
  ReadinessCheckError,
  checkPostgresCaptureReadiness,
  postgresCaptureReadiness,
  type PostgresReadinessOptions,
} from './check-readiness.js';
